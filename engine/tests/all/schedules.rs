//! Schedules, decided on synthetic times (never the wall clock): how often
//! a second-level schedule fires, an overlapping firing skipped, the
//! misfire rules after the service was down, two services never both
//! firing one time, pause and resume, and bad input named.

use capstan_engine::store::JobEnd;
use capstan_engine::{Capstan, Due, Error};
use capstan_wire::Actor;
use capstan_wire::jobs::{JobRequest, RunRequest};
use capstan_wire::schedules::{Misfire, Overlap, ScheduleSpec, ScheduledJob, ScheduledPlaybook};
use serde_json::json;

use crate::support::engine;

fn every_second(name: &str, overlap: Overlap, misfire: Misfire) -> ScheduleSpec {
    ScheduleSpec {
        name: name.into(),
        cron: "* * * * * *".into(),
        tz: None,
        job: ScheduledJob::Action {
            request: RunRequest::new("debug", "msg", json!({"msg": "tick"}), ["local"]),
        },
        overlap,
        misfire,
    }
}

/// What the service would do for `name` at `offset_ms` after the first
/// whole second after it was added, and the schedule's counts after.
fn due_at(capstan: &Capstan, name: &str, offset_ms: i64, at_start: bool) -> (Due, u64, u64) {
    let stored = capstan.store().schedule(name).unwrap().unwrap();
    let due = capstan
        .take_due(&stored, first_second(capstan, name) + offset_ms, at_start)
        .unwrap();
    let after = capstan.schedule(name).unwrap();
    (due, after.fired, after.skipped)
}

/// The first time an every-second schedule is due: the whole second
/// after it was added.
fn first_second(capstan: &Capstan, name: &str) -> i64 {
    let created = capstan.schedule(name).unwrap().created_at_ms;
    (created / 1_000 + 1) * 1_000
}

/// Records a running job as the schedule's last one; returns its id.
fn fired_running_job(capstan: &Capstan, name: &str) -> i64 {
    let request = JobRequest::Action(RunRequest::new("debug", "msg", json!({}), ["local"]));
    let id = capstan
        .store()
        .create_job(&request, &Actor::Schedule(name.into()))
        .unwrap();
    capstan.schedule_fired(name, id).unwrap();
    id
}

#[tokio::test]
async fn a_second_schedule_fires_once_per_look_and_coalesces_a_stall() {
    let (_dir, capstan) = engine();
    let alice = Actor::User("alice".into());
    let added = capstan
        .add_schedule(
            every_second("tick", Overlap::Allow, Misfire::RunOnce),
            &alice,
        )
        .await
        .unwrap();
    assert_eq!(added.next_runs_ms.len(), 3, "the next times are shown");
    assert!(added.next_runs_ms.windows(2).all(|w| w[1] - w[0] == 1_000));

    // Before the first second: nothing.
    assert_eq!(due_at(&capstan, "tick", -10, false).0, Due::Nothing);
    // Each look a second later fires once.
    let mut fires = 0;
    for second in 0..5 {
        let (due, _, _) = due_at(&capstan, "tick", second * 1_000 + 10, false);
        assert!(matches!(due, Due::Fire(_)), "second {second}: {due:?}");
        fires += 1;
        // The same second looked at again (a second service): nothing.
        assert_eq!(
            due_at(&capstan, "tick", second * 1_000 + 20, false).0,
            Due::Nothing
        );
    }
    assert_eq!(fires, 5);
    // A 4-second stall fires once for the four times it passed.
    let (due, _, skipped) = due_at(&capstan, "tick", 8_010, false);
    assert!(matches!(due, Due::Fire(_)));
    assert_eq!(skipped, 3, "three coalesced into the one run");

    let entries = capstan.audit_log(10).unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "add" && e.subject == "schedule:tick" && e.actor == "alice"),
        "{entries:?}"
    );
}

#[tokio::test]
async fn a_firing_while_the_last_job_runs_is_skipped_unless_overlap_is_allowed() {
    let (_dir, capstan) = engine();
    let me = capstan.actor();
    for (name, overlap) in [("careful", Overlap::Skip), ("eager", Overlap::Allow)] {
        capstan
            .add_schedule(every_second(name, overlap, Misfire::RunOnce), &me)
            .await
            .unwrap();
    }
    let careful_job = fired_running_job(&capstan, "careful");
    fired_running_job(&capstan, "eager");
    let (due, fired, skipped) = due_at(&capstan, "careful", 10, false);
    assert_eq!(due, Due::Skipped("its last job is still running"));
    assert_eq!((fired, skipped), (1, 1));
    assert!(matches!(
        due_at(&capstan, "eager", 10, false).0,
        Due::Fire(_)
    ));

    // Once the job ends, the next second fires.
    capstan
        .store()
        .finish_job(careful_job, JobEnd::Finished)
        .unwrap();
    assert!(matches!(
        due_at(&capstan, "careful", 1_010, false).0,
        Due::Fire(_)
    ));
}

#[tokio::test]
async fn times_missed_while_the_service_was_down_run_once_or_are_skipped() {
    let (_dir, capstan) = engine();
    let me = capstan.actor();
    capstan
        .add_schedule(
            every_second("catch-up", Overlap::Skip, Misfire::RunOnce),
            &me,
        )
        .await
        .unwrap();
    capstan
        .add_schedule(every_second("let-go", Overlap::Skip, Misfire::Skip), &me)
        .await
        .unwrap();
    // The service starts ten whole seconds after they were due first:
    // ten times missed.
    let (due, _, skipped) = due_at(&capstan, "catch-up", 9_500, true);
    assert!(matches!(due, Due::Fire(_)), "run once: {due:?}");
    assert_eq!(skipped, 9, "the other nine are counted, not run");
    let (due, _, skipped) = due_at(&capstan, "let-go", 9_500, true);
    assert_eq!(due, Due::Skipped("missed while the service was down"));
    assert_eq!(skipped, 10);
    // Then both fire on time again.
    assert!(matches!(
        due_at(&capstan, "let-go", 10_010, false).0,
        Due::Fire(_)
    ));
}

#[tokio::test]
async fn a_paused_schedule_does_not_fire_and_resumes_from_now() {
    let (_dir, capstan) = engine();
    let me = capstan.actor();
    capstan
        .add_schedule(every_second("nap", Overlap::Skip, Misfire::RunOnce), &me)
        .await
        .unwrap();
    let paused = capstan.pause_schedule("nap", true, &me).unwrap();
    assert!(paused.paused && paused.next_runs_ms.is_empty());
    assert_eq!(due_at(&capstan, "nap", 4_010, false).0, Due::Nothing);
    let before_resume = capstan_wire::clock::now_ms();
    let resumed = capstan.pause_schedule("nap", false, &me).unwrap();
    assert!(!resumed.paused && !resumed.next_runs_ms.is_empty());
    assert!(
        resumed.last_due_ms.is_some_and(|at| at >= before_resume),
        "it counts from its resumption: the times while paused never fire"
    );

    capstan.remove_schedule("nap", &me).unwrap();
    assert!(matches!(capstan.schedule("nap"), Err(Error::NotFound(_))));
    assert!(matches!(
        capstan.remove_schedule("nap", &me),
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn bad_schedules_are_refused_with_what_is_wrong() {
    let (dir, capstan) = engine();
    let me = capstan.actor();
    let refused = |spec: ScheduleSpec| {
        let capstan = &capstan;
        let me = me.clone();
        async move {
            capstan
                .add_schedule(spec, &me)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let base = every_second("ok", Overlap::Skip, Misfire::RunOnce);
    let error = refused(ScheduleSpec {
        cron: "61 * * * *".into(),
        ..base.clone()
    })
    .await;
    assert!(error.contains("61 * * * *"), "{error}");
    let error = refused(ScheduleSpec {
        tz: Some("Mars/Olympus".into()),
        ..base.clone()
    })
    .await;
    assert!(error.contains("Mars/Olympus"), "{error}");
    let error = refused(ScheduleSpec {
        name: "no spaces".into(),
        ..base.clone()
    })
    .await;
    assert!(error.contains("name `no spaces`"), "{error}");
    let nosuch = ScheduleSpec {
        job: ScheduledJob::Action {
            request: RunRequest::new("nosuch", "x", json!({}), ["local"]),
        },
        ..base.clone()
    };
    assert!(refused(nosuch).await.contains("nosuch"));
    let bad_params = ScheduleSpec {
        job: ScheduledJob::Action {
            request: RunRequest::new("debug", "msg", json!({"mesage": 1}), ["local"]),
        },
        ..base.clone()
    };
    assert!(refused(bad_params).await.contains("mesage"));
    let missing = ScheduleSpec {
        job: ScheduledJob::Playbook {
            playbook: ScheduledPlaybook::new(dir.path().join("nope.yml").display().to_string()),
        },
        ..base.clone()
    };
    assert!(refused(missing).await.contains("nope.yml"));
    capstan.add_schedule(base.clone(), &me).await.unwrap();
    assert!(refused(base).await.contains("exists"));
    assert_eq!(capstan.schedules().unwrap().len(), 1, "only the good one");
}
