use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sourceledger::auth::{Role, keys};
use sourceledger::config::Settings;
use sourceledger::db::Db;
use sourceledger::startup::Application;
use sourceledger::{api, telemetry};

// mimalloc: the server allocates and frees many small buffers per request
// (JSON, SQL binds, rows); glibc's malloc was an eighth of the ledger
// writer's time (benches/scale.sh, issue 24).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// sourceledger: a source transparency and citation ledger for newsrooms.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once at start: the size of the verifier's arguments costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Apply the pending database migrations and exit.
    Migrate,
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Manage membership platforms (SPEC "Membership platforms").
    Platforms {
        #[command(subcommand)]
        command: PlatformsCommand,
    },
    /// The log as C2SP tlog-tiles files.
    Tiles {
        #[command(subcommand)]
        command: TilesCommand,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Check a saved source list (offline) or a live server, trusting nothing but
    /// the publisher's vkey. Exits 1 when a check fails, 2 when it cannot be made.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The publisher's verifier key, or a file holding it.
    #[arg(long)]
    vkey: String,
    /// A saved source list response, checked offline.
    file: Option<std::path::PathBuf>,
    /// The server's base URL, e.g. https://news.example.
    #[arg(long, requires = "token", conflicts_with_all = ["file", "tiles"])]
    url: Option<String>,
    /// The log's C2SP tlog-tiles: a base URL (`checkpoint` and `tile/…`
    /// under it) or a folder (as `sourceledger tiles export` writes it).
    #[arg(long, conflicts_with = "file")]
    tiles: Option<String>,
    /// A bearer token (a subscriber's or staff's).
    #[arg(long)]
    token: Option<String>,
    /// Check this article's source list.
    #[arg(long, requires = "url", conflicts_with = "all")]
    article: Option<String>,
    /// Re-hash every leaf of the log.
    #[arg(long, requires = "url")]
    all: bool,
    /// Where to remember the last accepted checkpoint.
    #[arg(long)]
    state: Option<std::path::PathBuf>,
    /// A witness's cosignature verifier key (or a file holding it); repeat
    /// for each witness trusted. Needs a live server or tiles.
    #[arg(long = "witness", conflicts_with = "file")]
    witnesses: Vec<String>,
    /// How many of the given witnesses must have cosigned the checkpoint
    /// (default: all of them).
    #[arg(long, requires = "witnesses")]
    quorum: Option<usize>,
    /// An audit export (`GET /v1/audit/export`, NDJSON or CSV) saved to a
    /// file, checked offline: complete, every leaf hash, the signed checkpoint
    /// it closes with, and for the whole log its root.
    #[arg(long, conflicts_with_all = ["file", "url", "tiles"])]
    export: Option<std::path::PathBuf>,
    /// The time-stamping authority's certificate (PEM or DER): checks the
    /// server's newest RFC 3161 time stamp against it.
    #[arg(long, requires = "url")]
    tsa_cert: Option<std::path::PathBuf>,
    /// A WACZ package (`GET /v1/articles/{slug}/archive.wacz`, or a
    /// snapshot's `?format=wacz`), checked offline: every file's hash, the
    /// signature, and each WARC's ledger proof.
    #[arg(long, conflicts_with_all = ["file", "url", "tiles", "export"])]
    wacz: Option<std::path::PathBuf>,
    /// The newsroom's WACZ public key (`GET /v1/wacz/key`'s `publicKey`, or
    /// a file holding it): the package must be signed with it.
    #[arg(long, requires = "wacz")]
    wacz_key: Option<String>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Create an API key and print it on stdout (it is shown only this once).
    Create {
        /// journalist, editor, auditor, integration or admin.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum TilesCommand {
    /// Write the checkpoint, the hash tiles and the entry bundles into DIR for a
    /// static host, object store or CDN: only what is new since the checkpoint
    /// already there. The entry bundles hold every record in full: publish DIR
    /// where subscribers may read, or only its tile/<L>/ folders and checkpoint
    /// to everyone.
    Export { dir: std::path::PathBuf },
}

#[derive(Subcommand)]
enum PlatformsCommand {
    /// Register one from the JSON body `POST /v1/platforms` takes, given as the
    /// argument or on stdin, e.g. '{"kind": "ghost", "name": "Our Ghost",
    /// "site": "https://news.example"}'. Prints the answer as JSON: its
    /// webhook_url and webhook_secret (shown only this once).
    Add { json: Option<String> },
    /// List them as JSON, without secrets.
    List,
    /// Remove one by id.
    Remove { id: String },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Migrate => migrate(),
        Command::Keys {
            command: KeysCommand::Create { role, name },
        } => create_key(&role, &name),
        Command::Platforms { command } => manage_platforms(command),
        Command::Tiles {
            command: TilesCommand::Export { dir },
        } => export_tiles(&dir),
        Command::Openapi => print_openapi(),
        Command::Verify(args) => return verify(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sourceledger: {message}");
            ExitCode::FAILURE
        }
    }
}

fn settings() -> Result<Settings, String> {
    Settings::from_env().map_err(|e| e.to_string())
}

fn serve() -> Result<(), String> {
    let settings = settings()?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).map_err(|e| e.to_string())?;
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn migrate() -> Result<(), String> {
    let settings = settings()?;
    Db::connect(&settings.database, 1).map_err(|e| e.to_string())?;
    println!("migrations applied ({})", settings.database.backend_name());
    Ok(())
}

fn create_key(role: &str, name: &str) -> Result<(), String> {
    let role = Role::parse(role).ok_or_else(|| format!("unknown role {role:?}"))?;
    let settings = settings()?;
    let db = Db::connect(&settings.database, 1).map_err(|e| e.to_string())?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let key = keys::create(&mut conn, role, name).map_err(|e| e.detail().to_owned())?;
    println!("{}", key.secret);
    eprintln!(
        "created {} key {:?} (id {})",
        key.row.role, key.row.name, key.row.id
    );
    Ok(())
}

fn export_tiles(dir: &std::path::Path) -> Result<(), String> {
    let settings = settings()?;
    let secrets = sourceledger::secrets::load_or_create(
        &settings.data_dir,
        &settings.origin,
        &settings.witnessing.name,
    )
    .map_err(|e| e.to_string())?;
    let ledger = sourceledger::ledger::Ledger::new(
        secrets.ledger_key,
        &settings.origin,
        sourceledger::ledger::store::HashCache::new(1 << 16),
    );
    let db = Db::connect(&settings.database, 1).map_err(|e| e.to_string())?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let done =
        sourceledger::ledger::tiles::export(&mut conn, &ledger, dir).map_err(|e| e.to_string())?;
    eprintln!(
        "exported {} tiles into {}: tree size {} (was {})",
        done.tiles,
        dir.display(),
        done.size,
        done.old_size
    );
    Ok(())
}

fn manage_platforms(command: PlatformsCommand) -> Result<(), String> {
    use sourceledger::api::platforms::{PlatformList, RegisteredPlatform};
    use sourceledger::platforms;
    let settings = settings()?;
    let db = Db::connect(&settings.database, 1).map_err(|e| e.to_string())?;
    let mut conn = db.get().map_err(|e| e.to_string())?;
    let problem = |e: sourceledger::error::ApiError| e.detail().to_owned();
    let json = match command {
        PlatformsCommand::Add { json } => {
            let json = match json {
                Some(json) => json,
                None => std::io::read_to_string(std::io::stdin()).map_err(|e| e.to_string())?,
            };
            let new = api::body::parse(json.as_bytes()).map_err(problem)?;
            let secrets = sourceledger::secrets::load_or_create(
                &settings.data_dir,
                &settings.origin,
                &settings.witnessing.name,
            )
            .map_err(|e| e.to_string())?;
            let registered =
                platforms::create(&mut conn, &secrets.sealing_key, &new).map_err(problem)?;
            serde_json::to_string_pretty(&RegisteredPlatform::new(registered, &settings.public_url))
        }
        PlatformsCommand::List => {
            let found = platforms::list(&mut conn).map_err(problem)?;
            serde_json::to_string_pretty(&PlatformList::new(found, &settings.public_url))
        }
        PlatformsCommand::Remove { id } => {
            if !platforms::remove(&mut conn, &id).map_err(problem)? {
                return Err(format!("no platform {id:?}"));
            }
            eprintln!("removed platform {id}");
            return Ok(());
        }
    };
    println!("{}", json.map_err(|e| e.to_string())?);
    Ok(())
}

fn verify(args: VerifyArgs) -> ExitCode {
    let VerifyArgs {
        vkey,
        file,
        url,
        tiles,
        token,
        article,
        all,
        state,
        witnesses,
        quorum,
        export,
        tsa_cert,
        wacz,
        wacz_key,
    } = args;
    use sourceledger::verify::{self, Failure, Online, Witnessing};
    let witnesses = match Witnessing::read(&witnesses, quorum) {
        Ok(witnesses) => witnesses,
        Err(failure) => {
            eprintln!("sourceledger verify: {failure}");
            return ExitCode::from(2);
        }
    };
    let result = verify::read_vkey(&vkey).and_then(|vkey| match (file, url, token) {
        (None, None, _) if wacz.is_some() => {
            let key = wacz_key.map(|k| match std::fs::read_to_string(&k) {
                Ok(text) => text.trim().to_owned(),
                Err(_) => k,
            });
            verify::wacz::verify(&vkey, key.as_deref(), &wacz.unwrap_or_default())
        }
        (None, None, _) if export.is_some() => {
            verify::export::verify(&vkey, &export.unwrap_or_default())
        }
        (None, None, token) if tiles.is_some() => {
            verify::tiles::verify(&verify::tiles::FromTiles {
                vkey,
                witnesses,
                source: tiles.unwrap_or_default(),
                token,
                state,
            })
        }
        (Some(file), None, _) => verify::offline(&vkey, &file),
        (None, Some(url), Some(token)) if article.is_some() || all => verify::online(&Online {
            vkey,
            witnesses,
            url,
            token,
            article,
            all,
            state,
            tsa_cert,
        }),
        _ => Err(Failure::Trouble(
            "give a FILE, --export FILE, --wacz FILE, --tiles URL_OR_DIR, or --url and --token with --article SLUG or --all"
                .into(),
        )),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure @ Failure::Refused(_)) => {
            eprintln!("sourceledger verify: {failure}");
            ExitCode::from(1)
        }
        Err(failure) => {
            eprintln!("sourceledger verify: {failure}");
            ExitCode::from(2)
        }
    }
}

fn print_openapi() -> Result<(), String> {
    let json = api::openapi().to_pretty_json().map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
