//! Who a task runs as on its host: `become:` and `become_user:` of the
//! task (or what its blocks and play hand it), overridden — as Ansible
//! ranks them — by the variables `ansible_become`, `ansible_become_user`
//! and `ansible_become_password` wherever they are set (a task's `vars:`,
//! the play's, a host's). A password from a variable is masked in every
//! output of the run from then on.

use serde_json::Value as Json;

use crate::playbook::context::RunContext;
use crate::playbook::model::{Play, Task};
use crate::playbook::task_error::TaskError;
use crate::playbook::template::{Scope, truthy_json};
use capstan_remote::{Become, SudoPassword};

/// The user the task becomes, with how sudo gets a password; `None`
/// when it runs as the user the host logs in as.
pub(super) fn become_for(
    ctx: &RunContext,
    play: &Play,
    task: &Task,
    scope: &Scope,
) -> Result<Option<Become>, TaskError> {
    let wanted = match variable(ctx, scope, "ansible_become")? {
        Some(value) => truthy_json(&value),
        None => task.become_.or(play.become_).unwrap_or(false),
    };
    if !wanted {
        return Ok(None);
    }
    let user = match variable(ctx, scope, "ansible_become_user")? {
        Some(Json::String(user)) if !user.trim().is_empty() => user.trim().to_string(),
        _ => match task.become_user.as_ref().or(play.become_user.as_ref()) {
            // The keyword may be a template (`become_user: "{{ app_user }}"`).
            Some(written) => ctx
                .templates
                .render_text(written, scope)
                .map_err(TaskError::in_part(format!("become_user `{written}`")))?
                .trim()
                .to_string(),
            None => "root".into(),
        },
    };
    let mut password = ctx.sudo_password.clone();
    for name in ["ansible_become_password", "ansible_become_pass"] {
        if let Some(Json::String(given)) = variable(ctx, scope, name)?
            && !given.is_empty()
        {
            ctx.secrets.learn(&given);
            password = Some(SudoPassword::new(given));
            break;
        }
    }
    Ok(Some(Become {
        user,
        password_env: ctx.options.become_password_env.clone(),
        password,
    }))
}

/// The variable `name` as the task sees it, rendered; `None` when unset
/// or null.
fn variable(ctx: &RunContext, scope: &Scope, name: &str) -> Result<Option<Json>, TaskError> {
    match scope.json().get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(_) => ctx
            .templates
            .render_value(&format!("{{{{ {name} }}}}"), scope)
            .map(|value| (!value.is_null()).then_some(value))
            .map_err(TaskError::in_part(name.to_string())),
    }
}
