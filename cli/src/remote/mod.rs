//! `capstan --server URL …`: the CLI as a client of a `capstan serve`.
//! Runs of actions and playbooks (with the playbook's folder uploaded),
//! and the job history, go through the API and print what a local run
//! prints, from the same updates, with the same exit codes. What runs,
//! runs there: on the service's inventory, host keys and credentials.

mod connection;
mod events;
mod folder;

use hyper::Method;
use serde::Deserialize;

use capstan_engine::jobs::{JobRecord, JobUpdate};
use capstan_wire::jobs::{JobDetail, PlaybookUpload};

use crate::commands::jobs::{CancelOutcome, JobsCommand, report_cancel};
use crate::commands::notifications::NotificationsCommand;
use crate::commands::playbook::{PlaybookCommand, Printer};
use crate::commands::run::{ActionPrinter, RunArgs};
use crate::commands::schedules::SchedulesCommand;
use crate::commands::secrets::SecretsCommand;
use crate::commands::webhooks::WebhooksCommand;
use crate::exit::{BadInput, Exit};
use capstan_wire::schedules::{Schedule, ScheduledJob};

pub use connection::Server;
use events::EventReader;

/// Times the update stream may drop before the client gives up on it.
const RECONNECTS: u32 = 5;

/// A job just started by the service.
#[derive(Deserialize)]
struct Started {
    job_id: i64,
}

/// What the service says of a cancel request.
#[derive(Deserialize)]
struct Cancelled {
    outcome: String,
    job: JobRecord,
}

/// `capstan --server URL run …`.
pub async fn run(server: &Server, args: RunArgs) -> anyhow::Result<Exit> {
    let (json, quiet) = args.output();
    // The service refuses what it may not do (a sudo password from its
    // environment, say) with the field at fault: bad input, exit 3.
    let request = args.into_request()?;
    let diff = request.diff;
    let started: Started = server
        .call(Method::POST, "/api/v1/runs", Some(&request))
        .await?;
    follow_action(server, started.job_id, diff, json, quiet).await
}

/// `capstan --server URL playbook run …`.
pub async fn playbook(server: &Server, command: PlaybookCommand) -> anyhow::Result<Exit> {
    let PlaybookCommand::Run(args) = command;
    if let Some(flag) = args.local_only() {
        return Err(BadInput(format!(
            "{flag} works on this machine only: run it without --server"
        ))
        .into());
    }
    let (json, stored_secrets, verbosity) = (
        args.json(),
        args.stored_secrets().to_vec(),
        args.verbosity(),
    );
    let options = args.into_options()?;
    if options.inventory.is_some() {
        return Err(BadInput(
            "-i: through --server a playbook runs on the service's own inventory (`capstan hosts` there)".into(),
        )
        .into());
    }
    if options.become_password_env.is_some() {
        return Err(BadInput(
            "--become-password-env: the service does not read passwords from its environment for API calls".into(),
        )
        .into());
    }
    if !options.vault_password_files.is_empty() || !options.vault_ids.is_empty() {
        return Err(BadInput(
            "--vault-password-file/--vault-id: a run through --server cannot open a vault yet; \
             run it locally"
                .into(),
        )
        .into());
    }
    let (playbook, files) = folder::collect(&options.playbook)?;
    let upload = PlaybookUpload {
        playbook,
        files,
        limit: options.limit,
        tags: options.tags,
        skip_tags: options.skip_tags,
        extra_vars: options.extra_vars,
        secret_vars: options.secret_vars,
        stored_secrets,
        check: options.check,
        diff: options.diff,
        trust_new_hosts: options.trust_new_hosts,
        become_password_secret: options.become_password_secret,
    };
    let started: Started = server
        .call(Method::POST, "/api/v1/playbooks/runs", Some(&upload))
        .await?;
    follow_playbook(
        server,
        started.job_id,
        Printer::new(json).verbosity(verbosity),
    )
    .await
}

/// `capstan --server URL jobs …`.
pub async fn jobs(server: &Server, command: JobsCommand) -> anyhow::Result<Exit> {
    use crate::commands::jobs::{print_detail, print_list};
    match command {
        JobsCommand::List {
            limit,
            state,
            result,
            grep,
            json,
        } => {
            let mut query = format!("limit={limit}");
            if let Some(state) = state {
                query.push_str(&format!("&state={}", state.name()));
            }
            if let Some(result) = result {
                query.push_str(&format!("&result={}", result.name()));
            }
            if let Some(grep) = grep {
                query.push_str(&format!("&grep={}", encode(&grep)));
            }
            let jobs: Vec<JobRecord> = server
                .call(Method::GET, &format!("/api/v1/jobs?{query}"), None::<&()>)
                .await?;
            print_list(&jobs, json.json)
        }
        JobsCommand::Show { id, json } => print_detail(&detail(server, id).await?, json.json),
        JobsCommand::Cancel { id, no_wait, json } => {
            let asked: Cancelled = server
                .call(
                    Method::POST,
                    &format!("/api/v1/jobs/{id}/cancel"),
                    None::<&()>,
                )
                .await?;
            let outcome = CancelOutcome::from_name(&asked.outcome).ok_or_else(|| {
                anyhow::anyhow!(
                    "the service answered an unknown cancel outcome `{}`",
                    asked.outcome
                )
            })?;
            let mut job = asked.job;
            if outcome == CancelOutcome::Requested && !no_wait {
                let deadline = std::time::Instant::now() + crate::commands::jobs::CANCEL_WAIT;
                while job.state == capstan_engine::jobs::JobState::Running
                    && std::time::Instant::now() < deadline
                {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    job = detail(server, id).await?.job;
                }
            }
            report_cancel(outcome, &job, no_wait, json.json)
        }
        JobsCommand::Rerun { id, json } => {
            let playbook = detail(server, id).await?.job.is_playbook();
            let started: Started = server
                .call(
                    Method::POST,
                    &format!("/api/v1/jobs/{id}/rerun"),
                    None::<&()>,
                )
                .await?;
            if playbook {
                follow_playbook(server, started.job_id, Printer::new(json.json)).await
            } else {
                follow_action(server, started.job_id, false, json.json, false).await
            }
        }
    }
}

/// `capstan --server URL schedules …` (changes need an `admin` token).
pub async fn schedules(server: &Server, command: SchedulesCommand) -> anyhow::Result<Exit> {
    use crate::commands::schedules::{print_added, print_list, print_one};
    let path = |name: &str, what: &str| format!("/api/v1/schedules/{}{what}", encode(name));
    match command {
        SchedulesCommand::Add(args) => {
            let spec = args.into_spec()?;
            if let ScheduledJob::Playbook { .. } = spec.job {
                eprintln!(
                    "note: the playbook's path is read on the service's machine; its folder is not uploaded"
                );
            }
            let schedule: Schedule = server
                .call(Method::POST, "/api/v1/schedules", Some(&spec))
                .await?;
            print_added(&schedule);
            Ok(Exit::Success)
        }
        SchedulesCommand::List { json } => {
            let schedules: Vec<Schedule> = server
                .call(Method::GET, "/api/v1/schedules", None::<&()>)
                .await?;
            print_list(&schedules, json.json)
        }
        SchedulesCommand::Show { name, json } => {
            let schedule: Schedule = server
                .call(Method::GET, &path(&name, ""), None::<&()>)
                .await?;
            print_one(&schedule, json.json)
        }
        SchedulesCommand::Pause { name } => {
            let schedule: Schedule = server
                .call(Method::POST, &path(&name, "/pause"), None::<&()>)
                .await?;
            print_one(&schedule, false)
        }
        SchedulesCommand::Resume { name } => {
            let schedule: Schedule = server
                .call(Method::POST, &path(&name, "/resume"), None::<&()>)
                .await?;
            print_one(&schedule, false)
        }
        SchedulesCommand::Remove { name } => {
            server.delete(&path(&name, "")).await?;
            println!("schedule {name} removed (its jobs stay in the history)");
            Ok(Exit::Success)
        }
    }
}

/// `capstan --server URL secrets …` (an `admin` token).
pub async fn secrets(server: &Server, command: SecretsCommand) -> anyhow::Result<Exit> {
    use crate::commands::secrets::{print_list, read_value};
    match command {
        SecretsCommand::Set { name, from_file } => {
            let value = read_value(&name, from_file)?;
            server
                .call::<serde::de::IgnoredAny>(
                    Method::PUT,
                    &format!("/api/v1/secrets/{}", encode(&name)),
                    Some(&serde_json::json!({ "value": value })),
                )
                .await?;
            println!("secret {name} stored in {} (sealed)", server.url());
            Ok(Exit::Success)
        }
        SecretsCommand::List { json } => {
            let secrets: Vec<capstan_wire::secrets::SecretInfo> = server
                .call(Method::GET, "/api/v1/secrets", None::<&()>)
                .await?;
            print_list(&secrets, json.json)
        }
        SecretsCommand::Remove { name } => {
            server
                .delete(&format!("/api/v1/secrets/{}", encode(&name)))
                .await?;
            println!("secret {name} removed");
            Ok(Exit::Success)
        }
    }
}

/// `capstan --server URL webhooks …` (changes need an `admin` token).
pub async fn webhooks(server: &Server, command: WebhooksCommand) -> anyhow::Result<Exit> {
    use crate::commands::webhooks::{print_added, print_list};
    match command {
        WebhooksCommand::Add(args) => {
            let hook: capstan_wire::webhooks::Hook = server
                .call(Method::POST, "/api/v1/webhooks", Some(&args.into_spec()?))
                .await?;
            print_added(&hook);
            Ok(Exit::Success)
        }
        WebhooksCommand::List { json } => {
            let hooks: Vec<capstan_wire::webhooks::Hook> = server
                .call(Method::GET, "/api/v1/webhooks", None::<&()>)
                .await?;
            print_list(&hooks, json.json)
        }
        WebhooksCommand::Remove { name } => {
            server
                .delete(&format!("/api/v1/webhooks/{}", encode(&name)))
                .await?;
            println!("webhook {name} removed (its jobs stay in the history)");
            Ok(Exit::Success)
        }
    }
}

/// `capstan notifications …` through the service.
pub async fn notifications(server: &Server, command: NotificationsCommand) -> anyhow::Result<Exit> {
    use crate::commands::notifications::{
        describe_rule, print_channels, print_deliveries, print_rules,
    };
    use capstan_wire::notifications::{Channel, NotificationDelivery, Rule};
    const BASE: &str = "/api/v1/notifications";
    match command {
        NotificationsCommand::ChannelAdd(args) => {
            let channel: Channel = server
                .call(
                    Method::POST,
                    &format!("{BASE}/channels"),
                    Some(&args.into_spec()),
                )
                .await?;
            println!(
                "channel {} added: {} to {}",
                channel.spec.name, channel.spec.kind, channel.host
            );
            Ok(Exit::Success)
        }
        NotificationsCommand::Channels { json } => {
            let channels: Vec<Channel> = server
                .call(Method::GET, &format!("{BASE}/channels"), None::<&()>)
                .await?;
            print_channels(&channels, json.json)
        }
        NotificationsCommand::ChannelRemove { name } => {
            server
                .delete(&format!("{BASE}/channels/{}", encode(&name)))
                .await?;
            println!("channel {name} removed");
            Ok(Exit::Success)
        }
        NotificationsCommand::RuleAdd(args) => {
            let rule: Rule = server
                .call(
                    Method::POST,
                    &format!("{BASE}/rules"),
                    Some(&args.into_spec()),
                )
                .await?;
            println!(
                "rule {} added: {}",
                rule.spec.name,
                describe_rule(&rule.spec)
            );
            Ok(Exit::Success)
        }
        NotificationsCommand::Rules { json } => {
            let rules: Vec<Rule> = server
                .call(Method::GET, &format!("{BASE}/rules"), None::<&()>)
                .await?;
            print_rules(&rules, json.json)
        }
        NotificationsCommand::RuleRemove { name } => {
            server
                .delete(&format!("{BASE}/rules/{}", encode(&name)))
                .await?;
            println!("rule {name} removed");
            Ok(Exit::Success)
        }
        NotificationsCommand::SmtpSet(_) | NotificationsCommand::SmtpShow { .. } => {
            Err(crate::exit::BadInput(
                "the SMTP server is set on the service's machine (`capstan notifications smtp-set` there)"
                    .into(),
            )
            .into())
        }
        NotificationsCommand::Deliveries { limit, json } => {
            let deliveries: Vec<NotificationDelivery> = server
                .call(
                    Method::GET,
                    &format!("{BASE}/deliveries?limit={limit}"),
                    None::<&()>,
                )
                .await?;
            print_deliveries(&deliveries, json.json)
        }
    }
}

async fn detail(server: &Server, id: i64) -> anyhow::Result<JobDetail> {
    server
        .call(Method::GET, &format!("/api/v1/jobs/{id}"), None::<&()>)
        .await
}

async fn follow_action(
    server: &Server,
    job_id: i64,
    diff: bool,
    json: bool,
    quiet: bool,
) -> anyhow::Result<Exit> {
    let printer = ActionPrinter::new(quiet);
    let job = follow(server, job_id, |update| printer.update(update)).await?;
    printer.finish(&job, diff, json)
}

async fn follow_playbook(server: &Server, job_id: i64, printer: Printer) -> anyhow::Result<Exit> {
    follow(server, job_id, |update| printer.update(update)).await?;
    let detail = detail(server, job_id).await?;
    printer.finish_run(&detail.job, &detail.recap, &detail.tasks)
}

/// Follows a job the service runs, handing each update to `on_update`,
/// until it ends; returns its final record. The first Ctrl-C asks the
/// service to cancel it (and following goes on until it is recorded so),
/// a second one quits at once.
async fn follow(
    server: &Server,
    job_id: i64,
    mut on_update: impl FnMut(&JobUpdate),
) -> anyhow::Result<JobRecord> {
    let (control, _listening) = crate::interrupt::cancel_on_ctrl_c();
    let mut cancel_asked = false;
    let mut seen: u64 = 0;
    let mut drops = 0;
    let path = format!("/api/v1/jobs/{job_id}/updates");
    loop {
        let response = server.send(Method::GET, &path, None, Some(seen)).await;
        let mut events = match response {
            Ok(response) if response.status().is_success() => {
                EventReader::new(response.into_body())
            }
            Ok(response) => {
                let status = response.status();
                let body = http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                return Err(connection::answer_error(status, &body).into_error());
            }
            Err(e) if drops < RECONNECTS => {
                tracing::debug!("following job {job_id}: {e:#}");
                drops += 1;
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                continue;
            }
            Err(e) => return Err(e),
        };
        loop {
            let next = tokio::select! {
                next = events.next() => next,
                () = control.cancel.cancelled(), if !cancel_asked => {
                    cancel_asked = true;
                    let asked: anyhow::Result<Cancelled> = server
                        .call(Method::POST, &format!("/api/v1/jobs/{job_id}/cancel"), None::<&()>)
                        .await;
                    if let Err(e) = asked {
                        eprintln!("could not ask the service to cancel job {job_id}: {e:#}");
                    }
                    continue;
                }
            };
            match next {
                Ok(Some(event)) if event.event == "update" => {
                    let update: JobUpdate = serde_json::from_str(&event.data).map_err(|e| {
                        anyhow::anyhow!("the service sent an update this capstan cannot read: {e}")
                    })?;
                    on_update(&update);
                    if let Some(id) = event.id.and_then(|id| id.parse().ok()) {
                        seen = id;
                    }
                }
                Ok(Some(event)) if event.event == "end" => {
                    return match serde_json::from_str::<Option<JobRecord>>(&event.data) {
                        Ok(Some(job)) => Ok(job),
                        _ => Ok(detail(server, job_id).await?.job),
                    };
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) if drops < RECONNECTS => {
                    drops += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    break;
                }
                Ok(None) | Err(_) => {
                    return Err(anyhow::anyhow!(
                        "lost {} while following job {job_id}: `capstan --server {} jobs show {job_id}` tells how it ended",
                        server.url(),
                        server.url()
                    ));
                }
            }
        }
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded() {
        assert_eq!(super::encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
