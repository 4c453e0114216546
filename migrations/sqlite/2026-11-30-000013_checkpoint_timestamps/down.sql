DROP TABLE checkpoint_timestamps;
