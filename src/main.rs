//! The `support-service` binary: settings, telemetry, run.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use support_service::app::{self, App, Listeners};
use support_service::config::{Cli, Command, Settings, TokenRole};
use support_service::demo::{self, DemoPlan};
use support_service::domain::SystemClock;
use support_service::domain::access::{Principal, Role};
use support_service::observe::Metrics;
use support_service::telemetry;
use tokio::net::TcpListener;

/// mimalloc: measured faster than the system allocator for this server (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = cli.settings.worker_threads {
        runtime.worker_threads(usize::from(threads));
    }
    match runtime.enable_all().build() {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(e) => {
            eprintln!("support-service: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> ExitCode {
    telemetry::init(cli.settings.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.settings).await,
        Command::Migrate => migrate(cli.settings).await,
        Command::SeedDemo { scale, seed, jobs } => {
            seed_demo(cli.settings, DemoPlan { scale, seed, jobs: usize::from(jobs) }).await
        }
        Command::Token { role, subject, ttl_secs } => token(cli.settings, role, &subject, ttl_secs).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %support_service::error::chain(&*e), "support-service failed");
            eprintln!("support-service: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Listens first (health and reflection answer at once), then connects and migrates.
async fn serve(settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let listen = settings.listen;
    let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    tracing::info!(address = %listener.local_addr()?, workers, "serving support.v1");
    let admin = match settings.admin_addr()? {
        Some(addr) => {
            let admin = TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr} (admin): {e}"))?;
            tracing::info!(admin_address = %admin.local_addr()?, "serving /metrics, /livez and /readyz");
            Some(admin)
        }
        None => None,
    };
    let metrics = Metrics::new();
    let app = App::build_observed(settings.clone(), Arc::new(SystemClock), metrics.clone());
    app::serve(settings, Listeners { api: listener, admin }, metrics, shutdown_signal(), app).await?;
    telemetry::shutdown();
    Ok(())
}

async fn migrate(mut settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    settings.migrate = true;
    App::build(settings, Arc::new(SystemClock)).await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// Fills an empty database with the demo dataset, with a progress bar.
async fn seed_demo(mut settings: Settings, plan: DemoPlan) -> Result<(), Box<dyn std::error::Error>> {
    // The generator assigns each ticket itself (round the department's team).
    settings.auto_assign = false;
    let repo = app::connect_and_migrate(&settings).await?;
    let bar = indicatif::ProgressBar::new(plan.tickets() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} tickets ({per_sec}, {eta} left)",
        )?
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let summary = demo::seed(&repo, plan, |n| bar.set_position(n as u64)).await?;
    bar.finish_and_clear();
    repo.close().await?;
    println!(
        "seeded {} departments, {} agents, {} customers, {} tickets ({} closed with a rating), {} messages in {:.1} s",
        summary.departments,
        summary.agents,
        summary.customers,
        summary.tickets,
        summary.closed,
        summary.messages,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Prints an access token for an operator or an internal service.
async fn token(
    settings: Settings,
    role: TokenRole,
    subject: &str,
    ttl_secs: u64,
) -> Result<(), Box<dyn std::error::Error>> {
    let valid = !subject.is_empty()
        && subject.len() <= 64
        && subject.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err("--subject must be 1 to 64 letters, digits, '-', '_' or '.'".into());
    }
    let role = match role {
        TokenRole::Admin => Role::Admin,
        TokenRole::Service => Role::Service,
    };
    let tokens = app::token_minter(&settings).await?;
    println!("{}", tokens.mint_for(&Principal::named(role, subject), std::time::Duration::from_secs(ttl_secs))?);
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
