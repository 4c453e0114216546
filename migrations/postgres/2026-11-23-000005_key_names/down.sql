DROP INDEX api_keys_live_name;
