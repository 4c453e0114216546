use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sourceledger::auth::{Role, keys};
use sourceledger::config::Settings;
use sourceledger::db::Db;
use sourceledger::startup::Application;
use sourceledger::{api, telemetry};

/// sourceledger: a source transparency and citation ledger for newsrooms.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

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
    /// Print the OpenAPI document.
    Openapi,
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(),
        Command::Migrate => migrate(),
        Command::Keys {
            command: KeysCommand::Create { role, name },
        } => create_key(&role, &name),
        Command::Openapi => print_openapi(),
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
    let mut conn = db.get().map_err(|e| e.detail().to_owned())?;
    let key = keys::create(&mut conn, role, name).map_err(|e| e.detail().to_owned())?;
    println!("{}", key.secret);
    eprintln!(
        "created {} key {:?} (id {})",
        key.row.role, key.row.name, key.row.id
    );
    Ok(())
}

fn print_openapi() -> Result<(), String> {
    let json = api::openapi().to_pretty_json().map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
