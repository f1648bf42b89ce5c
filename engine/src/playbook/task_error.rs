//! Why one task could not run on a host. Each becomes a failed result
//! whose message names the task and its place; the kinds keep apart
//! what the user wrote wrong from what the controller could not find.

use super::template::TemplateError;

/// Why a task failed before (or instead of) its plugin deciding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// A template in the task's arguments could not be rendered.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A template in a named part of the task could not be rendered or
    /// evaluated: `when \`x\``, `failed_when`, `vars_files`, a template file.
    #[error("{part}: {source}")]
    In {
        /// The part, as the message shows it.
        part: String,
        /// What went wrong there.
        #[source]
        source: TemplateError,
    },
    /// The module's arguments are wrong: a missing or unknown field,
    /// `k=v` text that is not.
    #[error("{0}")]
    Args(String),
    /// `loop:` did not give a list.
    #[error("the loop needs a list, but it gave {0}")]
    NotAList(String),
    /// A file the task names on the controller is missing or unreadable.
    #[error("{0}")]
    LocalFile(String),
    /// A `vars_files` entry could not be read as variables.
    #[error("{0}")]
    VarsFile(String),
    /// The module's plugin is missing, lacks the action, or refuses the
    /// parameters.
    #[error("{0}")]
    Plugin(String),
}

impl TaskError {
    /// A template error in a named part of the task.
    pub fn in_part(part: impl Into<String>) -> impl FnOnce(TemplateError) -> TaskError {
        let part = part.into();
        move |source| TaskError::In { part, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_error_in_a_part_names_the_part_then_the_variable() {
        let error = TaskError::in_part("when `ready`")(TemplateError::Undefined("ready".into()));
        assert_eq!(error.to_string(), "when `ready`: 'ready' is undefined");
        assert_eq!(
            TaskError::from(TemplateError::OutOfFuel).to_string(),
            TemplateError::OutOfFuel.to_string()
        );
        assert_eq!(
            TaskError::NotAList("a mapping".into()).to_string(),
            "the loop needs a list, but it gave a mapping"
        );
    }
}
