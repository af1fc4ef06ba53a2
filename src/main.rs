//! The `support-service` binary: settings, telemetry, run.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use support_service::app::App;
use support_service::config::{Cli, Command, Settings};
use support_service::domain::SystemClock;
use support_service::telemetry;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.settings).await,
        Command::Migrate => migrate(cli.settings).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "support-service failed");
            eprintln!("support-service: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let listen = settings.listen;
    let app = App::build(settings, Arc::new(SystemClock)).await?;
    let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving support.v1");
    app.run(listener, shutdown_signal()).await?;
    Ok(())
}

async fn migrate(mut settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    settings.migrate = true;
    App::build(settings, Arc::new(SystemClock)).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
