//! Email to customers, from the event log: an agent's public reply, a resolution (with a
//! request to rate) and an agent's call she did not answer are mailed to the ticket's
//! customer, unless she opted out. Internal notes never are. The mailer runs on the
//! sequencer's replica like the webhook deliverer, with its own cursor; each mail is noted
//! with its event (and carries the event in its Message-ID), so a crash resends at most
//! the mail in flight and never skips one.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::{Environment, context};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::domain::call::CallOutcome;
use crate::domain::event::{EventKind, QueueEvent};
use crate::domain::{SenderKind, Status, Visibility};
use crate::error::{AppError, AppResult, chain};
use crate::observe::metrics::NotifyMetrics;
use crate::repo::Repo;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpTls {
    /// Plain text (a relay on the same host or network).
    None,
    /// Upgrade with STARTTLS (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
}

/// Where and as whom mail is sent.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The SMTP server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: SmtpTls,
    /// SMTP credentials, if the server wants them.
    pub credentials: Option<(String, SecretString)>,
    /// The sender, `Name <address>`.
    pub from: String,
    /// The console's address, for links to tickets.
    pub public_url: String,
}

/// A mail an event calls for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Why {
    /// An agent's public reply.
    Reply { agent_id: i64, body: String },
    /// The ticket was resolved.
    Resolved,
    /// An agent called the customer, who did not answer: she may have been away from the
    /// console, where the call rang.
    MissedCall { agent: String },
}

/// What an event means for the customer's inbox: only agents' public replies, the move to
/// RESOLVED, and an agent's call she did not answer (MISSED with the customer the callee:
/// it rang out, or the agent gave up first; a call she declined or took is no news to her).
fn why(e: &QueueEvent) -> Option<Why> {
    match e.kind {
        EventKind::MessageAdded => {
            let log = e.log.as_ref()?;
            (log.sender_kind == SenderKind::Agent && log.visibility == Visibility::Public)
                .then(|| Why::Reply { agent_id: log.sender_id.unwrap_or_default(), body: log.body.clone() })
        }
        EventKind::StatusChanged => (e.ticket.status == Status::Resolved
            && e.before.as_ref().is_none_or(|b| b.status != Status::Resolved))
        .then_some(Why::Resolved),
        EventKind::CallUpdated => {
            let call = e.call.as_ref()?;
            (call.outcome == Some(CallOutcome::Missed) && call.callee.kind == SenderKind::Customer)
                .then(|| Why::MissedCall { agent: call.caller_name.clone() })
        }
        _ => None,
    }
}

/// Sends customers their mail.
#[derive(Debug)]
pub struct Mailer {
    repo: Repo,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
    public_url: String,
    templates: Environment<'static>,
    metrics: NotifyMetrics,
}

impl Mailer {
    /// A mailer over `settings`' SMTP server.
    pub fn new(repo: Repo, settings: &MailSettings, metrics: NotifyMetrics) -> Result<Self, String> {
        let from: Mailbox = settings.from.parse().map_err(|e| format!("SUPPORT_MAIL_FROM {:?}: {e}", settings.from))?;
        let host = settings.host.as_str();
        let bad = |e: lettre::transport::smtp::Error| format!("SUPPORT_SMTP_HOST {host:?}: {e}");
        let mut builder = match settings.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(bad)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(bad)?,
        };
        builder = builder.port(settings.port).timeout(Some(Duration::from_secs(15)));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        let mut templates = Environment::new();
        for (name, text) in [
            ("reply.txt", include_str!("templates/reply.txt")),
            ("reply.html", include_str!("templates/reply.html")),
            ("resolved.txt", include_str!("templates/resolved.txt")),
            ("resolved.html", include_str!("templates/resolved.html")),
            ("missed_call.txt", include_str!("templates/missed_call.txt")),
            ("missed_call.html", include_str!("templates/missed_call.html")),
        ] {
            templates.add_template(name, text).map_err(|e| format!("the mail template {name}: {e}"))?;
        }
        Ok(Self {
            repo,
            transport: builder.build(),
            domain: from.email.domain().to_owned(),
            from,
            public_url: settings.public_url.trim_end_matches('/').to_owned(),
            templates,
            metrics,
        })
    }

    /// Mails while `leader` says this replica is the sequencer, waking on new events; an
    /// SMTP failure is retried with a growing pause (at most a minute). Until `stop`.
    pub async fn run(
        self: Arc<Self>,
        mut leader: watch::Receiver<bool>,
        mut latest: watch::Receiver<i64>,
        stop: CancellationToken,
    ) {
        let mut failures = 0u32;
        loop {
            let mut pause = Duration::from_millis(500);
            if *leader.borrow_and_update() {
                match self.drain().await {
                    Ok(()) => failures = 0,
                    Err(e) => {
                        failures += 1;
                        pause = Duration::from_secs(1u64 << failures.min(6)).min(Duration::from_secs(60));
                        tracing::warn!(error = %chain(&e), retry_in_ms = pause.as_millis() as u64, "mail: sending failed");
                    }
                }
            }
            tokio::select! {
                _ = latest.changed(), if failures == 0 => {}
                _ = leader.changed() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = stop.cancelled() => break,
            }
        }
    }

    /// Mails what the log holds after the cursor, in order.
    async fn drain(&self) -> AppResult<()> {
        let mut cursor = self.repo.mail_cursor().await?;
        loop {
            let events = self.repo.events_after(cursor, 100).await?;
            let Some(last) = events.last().map(|e| e.sequence) else { return Ok(()) };
            for e in &events {
                let Some(why) = why(e) else { continue };
                let customer = self.repo.get_customer(e.ticket.customer_id).await?;
                if customer.email_opt_out {
                    continue;
                }
                let sent = if self.repo.mailed(e.sequence).await? {
                    None
                } else {
                    self.send(e, &why, &customer).await?;
                    Some((e.sequence, customer.email.as_str()))
                };
                if !self.repo.mail_done(cursor, e.sequence, sent, Utc::now()).await? {
                    return Ok(());
                }
                cursor = e.sequence;
            }
            if last > cursor {
                if !self.repo.mail_done(cursor, last, None, Utc::now()).await? {
                    return Ok(());
                }
                cursor = last;
            }
        }
    }

    async fn send(&self, e: &QueueEvent, why: &Why, customer: &crate::domain::Customer) -> AppResult<()> {
        let t = &e.ticket;
        let department = self.repo.get_department(t.department_id).await?.name;
        let link = format!("{}/#/ticket/{}", self.public_url, t.id);
        let (name, subject, agent, body) = match why {
            Why::Reply { agent_id, body } => {
                let agent = match self.repo.get_agent(*agent_id).await {
                    Ok(a) => format!("{} {}", a.first_name, a.last_name),
                    Err(_) => "Our support team".to_owned(),
                };
                ("reply", format!("Re: [#{}] {}", t.id, t.subject), agent, body.as_str())
            }
            Why::Resolved => {
                ("resolved", format!("[#{}] Resolved: {} (how did we do?)", t.id, t.subject), String::new(), "")
            }
            Why::MissedCall { agent } => {
                ("missed_call", format!("[#{}] You missed a call from {agent}", t.id), agent.clone(), "")
            }
        };
        let values = context! {
            customer => customer.first_name, agent => agent, ticket_id => t.id, subject => t.subject,
            body => body, link => link, department => department,
        };
        let render = |kind: &str| {
            self.templates
                .get_template(&format!("{name}.{kind}"))
                .and_then(|tpl| tpl.render(&values))
                .map_err(|err| AppError::Internal(format!("the {name}.{kind} mail template: {err}")))
        };
        let (text, html) = (render("txt")?, render("html")?);
        let to: Mailbox = format!("{} {} <{}>", customer.first_name, customer.last_name, customer.email)
            .parse()
            .or_else(|_| customer.email.parse())
            .map_err(|err| AppError::Internal(format!("customer {}'s address: {err}", customer.id)))?;
        let mail = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<evt-{}@{}>", e.sequence, self.domain)))
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|err| AppError::Internal(format!("building a mail: {err}")))?;
        if let Err(err) = self.transport.send(mail).await {
            self.metrics.mail_failures.inc();
            return Err(AppError::Internal(format!("SMTP: {err}")));
        }
        self.metrics.mails_sent.inc();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::{Call, CallState, Party};
    use crate::domain::priority::PriorityPolicy;
    use crate::domain::{NewTicket, Ticket, Tier};

    fn call_ended(caller: Party, callee: Party, outcome: CallOutcome) -> QueueEvent {
        let now = Utc::now();
        let ticket = Ticket::open(&NewTicket::sample(), Tier::Paid, &PriorityPolicy::default(), now);
        let call = Call {
            id: 3,
            ticket_id: ticket.id,
            department_id: ticket.department_id,
            caller,
            callee,
            caller_name: "Grace Hopper".into(),
            callee_name: "Ann Lee".into(),
            state: CallState::Ended,
            outcome: Some(outcome),
            end_reason: None,
            signals: 0,
            created_at: now,
            ring_deadline: now,
            answered_at: None,
            ended_at: Some(now),
            after_sequence: 0,
        };
        QueueEvent {
            id: 1,
            sequence: 1,
            kind: EventKind::CallUpdated,
            time: now,
            ticket,
            log: None,
            before: None,
            call: Some(call),
            signal: None,
        }
    }

    #[test]
    fn only_an_agents_call_the_customer_did_not_answer_is_mailed() {
        let (agent, customer) = (Party::agent(4), Party::customer(7));
        let missed = call_ended(agent, customer, CallOutcome::Missed);
        assert_eq!(why(&missed), Some(Why::MissedCall { agent: "Grace Hopper".into() }));
        for outcome in [CallOutcome::Accepted, CallOutcome::Declined, CallOutcome::Failed] {
            assert_eq!(why(&call_ended(agent, customer, outcome)), None, "{outcome:?}");
        }
        assert_eq!(why(&call_ended(customer, agent, CallOutcome::Missed)), None, "the customer's own call");
        let ringing = QueueEvent { call: missed.call.clone().map(|c| Call { outcome: None, ..c }), ..missed };
        assert_eq!(why(&ringing), None, "a call not ended");
    }
}
