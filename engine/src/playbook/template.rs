//! Jinja templating as Ansible does it, on minijinja: strict about
//! undefined variables (the error names the variable), Python-style
//! printing of lists, mappings and booleans, and the filters and tests
//! playbooks use most.
//!
//! Where a value came from decides whether it is ever rendered. Variables
//! written by the user (playbook, task and play vars, vars files,
//! inventory, `-e`) may hold templates, rendered when a template uses them,
//! as Ansible's lazy variables are. Everything else — registered results,
//! facts, plugin data, file contents, rendered output — is data: it is
//! never rendered, so a managed host cannot make the controller evaluate
//! an expression over the run's variables. Each render also has a fuel
//! limit, so no template can hang the run.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde_json::Value as Json;

use super::conditional::{self, Shape, Step};
use super::jinja_errors::jinja_message;
use super::template_files::{self, TemplateOptions, TemplateSearch};
pub use super::truth::{truthy, truthy_json};
use super::unary_plus::without_unary_plus;

/// How deep written variables may refer to other written variables.
const MAX_DEPTH: usize = 32;

/// Instructions one render may run (a loop of 100 × 100 items takes about
/// 60,000): enough for any real template, and stops one that would hang.
pub const FUEL: u64 = 20_000_000;

/// Why a template could not be rendered or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A variable (or attribute path, `a.b`) the scope lacks.
    #[error("'{0}' is undefined")]
    Undefined(String),
    /// An attribute path (`a.b`) whose last step its value lacks, with
    /// that value's type in Python's words, as Ansible says it.
    #[error("undefined variable `{path}`: object of type '{kind}' has no attribute '{attribute}'")]
    NoAttribute {
        /// The whole path.
        path: String,
        /// The type of the value before its last step (`dict`, `list`...).
        kind: &'static str,
        /// The attribute it lacks.
        attribute: String,
    },
    /// An index past a list's end (or one a mapping lacks), in Jinja's
    /// words.
    #[error("undefined variable `{path}`: {kind} object has no element {index}")]
    NoElement {
        /// The whole path.
        path: String,
        /// The type of the value indexed (`list`, `dict`...).
        kind: &'static str,
        /// The index it lacks.
        index: i64,
    },
    /// An expression evaluated to nothing, without naming a missing variable.
    #[error("`{0}` is undefined")]
    UndefinedExpression(String),
    /// The render used up its fuel.
    #[error(
        "the template ran more than {FUEL} steps and was stopped: a loop that does not end, \
         or far more data than expected"
    )]
    OutOfFuel,
    /// A written variable's template uses itself, through `path`.
    #[error("variable `{name}` refers to itself ({path})")]
    SelfReference {
        /// The variable met again.
        name: String,
        /// The chain of variables, `a → b → a`.
        path: String,
    },
    /// Written variables refer to each other too deep (32 levels).
    #[error("variable `{name}`: templates nest more than {MAX_DEPTH} variables deep")]
    TooDeep {
        /// The variable at the limit.
        name: String,
    },
    /// A syntax or evaluation error from the template engine: its kind
    /// and detail, as minijinja words them.
    #[error("{0}")]
    Jinja(String),
    /// A conditional with nothing in it, as Ansible words it.
    #[error("Empty conditional expressions are not allowed.")]
    EmptyConditional,
    /// A conditional whose template gave text that did not come, as
    /// written, from the playbook: it is never evaluated as an expression
    /// (see `conditional.rs`).
    #[error(
        "conditional `{conditional}` is an untrusted template or expression: its template \
         gave the text `{text}`, which was not written in the playbook as it stands (it was \
         pieced together, or came from a host or a result), and such text is never \
         evaluated as an expression; write the expression itself, without {{{{ }}}}"
    )]
    Untrusted {
        /// The conditional as written.
        conditional: String,
        /// The text its template gave.
        text: String,
    },
}

/// The template engine for one playbook run.
pub struct Templates {
    /// Strict: an undefined variable fails wherever it is used.
    env: Environment<'static>,
    /// Ansible's chaining: `x.y.z` of an undefined `x` is undefined, so
    /// `x.y | default(1)` and `x.y is defined` work; printing an
    /// undefined value still fails. Built on first use.
    chainable: std::sync::OnceLock<Environment<'static>>,
}

impl Default for Templates {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a layer of variables came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Written by the user (playbook, inventory, vars files, `-e`): may
    /// hold templates, rendered when used.
    Written,
    /// From a host, a plugin or an earlier render: never rendered.
    Data,
}

/// Variables a template sees.
#[derive(Clone, Debug)]
pub struct Scope {
    value: Value,
    json: Json,
    /// Names whose values are written templates, not yet rendered.
    written: Arc<BTreeSet<String>>,
    /// Names whose values came from a host, a plugin or a render: a
    /// conditional never evaluates their text as an expression.
    data: Arc<BTreeSet<String>>,
    /// `hostvars`: every play host's variables, shared by all the hosts
    /// of a task (data, never rendered).
    hostvars: Option<Value>,
}

impl Scope {
    /// Variables from a JSON object, all of them data.
    pub fn new(vars: Json) -> Scope {
        let data = vars
            .as_object()
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default();
        Scope {
            value: Value::from_serialize(&vars),
            json: vars,
            written: Arc::default(),
            data: Arc::new(data),
            hostvars: None,
        }
    }

    /// Variables from layers, weakest first; a name a later layer sets
    /// takes that layer's value and origin.
    pub fn layered<'a>(
        layers: impl IntoIterator<Item = (&'a serde_json::Map<String, Json>, Origin)>,
    ) -> Scope {
        let mut all = serde_json::Map::new();
        let mut written = BTreeSet::new();
        let mut data = BTreeSet::new();
        for (layer, origin) in layers {
            for (name, value) in layer {
                if origin == Origin::Written && holds_template(value) {
                    written.insert(name.clone());
                } else {
                    written.remove(name);
                }
                if origin == Origin::Data {
                    data.insert(name.clone());
                } else {
                    data.remove(name);
                }
                all.insert(name.clone(), value.clone());
            }
        }
        let json = Json::Object(all);
        Scope {
            value: Value::from_serialize(&json),
            json,
            written: Arc::new(written),
            data: Arc::new(data),
            hostvars: None,
        }
    }

    /// This scope with `hostvars` bound to `hostvars` (a mapping of every
    /// play host's variables), unless a variable of that name is set.
    pub fn with_hostvars(mut self, hostvars: Option<Value>) -> Scope {
        if self.json.get("hostvars").is_none() {
            self.hostvars = hostvars;
        }
        self
    }

    /// The context a template renders with.
    fn context(&self) -> Value {
        match &self.hostvars {
            Some(hostvars) => {
                minijinja::context! { hostvars => hostvars.clone(), ..self.value.clone() }
            }
            None => self.value.clone(),
        }
    }

    /// The variables as JSON (written templates as written).
    pub fn json(&self) -> &Json {
        &self.json
    }

    /// This scope with `name` (re)bound to `value`, as data.
    pub fn with(&self, name: &str, value: Json) -> Scope {
        self.bound(name, value, Origin::Data)
    }

    /// This scope with `name` (re)bound to `value`, a value the user
    /// wrote without templates (an item of a loop written as a list): never
    /// rendered, and its text may be a conditional's expression.
    pub fn with_written(&self, name: &str, value: Json) -> Scope {
        self.bound(name, value, Origin::Written)
    }

    fn bound(&self, name: &str, value: Json, origin: Origin) -> Scope {
        let mut json = self.json.clone();
        if let Json::Object(map) = &mut json {
            map.insert(name.to_string(), value);
        }
        let mut written = self.written.clone();
        if written.contains(name) {
            Arc::make_mut(&mut written).remove(name);
        }
        let mut data = self.data.clone();
        if data.contains(name) != (origin == Origin::Data) {
            let names = Arc::make_mut(&mut data);
            if origin == Origin::Data {
                names.insert(name.to_string());
            } else {
                names.remove(name);
            }
        }
        Scope {
            value: Value::from_serialize(&json),
            json,
            written,
            data,
            hostvars: self.hostvars.clone(),
        }
    }

    /// Whether the text of variable `name` may be a conditional's
    /// expression: it is bound, to a value written without templates.
    pub(crate) fn trusts(&self, name: &str) -> bool {
        self.json.get(name).is_some() && !self.written.contains(name) && !self.data.contains(name)
    }

    /// This scope with each of `vars` bound, as data, where no variable
    /// of that name is bound yet.
    pub fn with_missing(&self, vars: impl IntoIterator<Item = (&'static str, Json)>) -> Scope {
        let mut json = self.json.clone();
        if let Json::Object(map) = &mut json {
            for (name, value) in vars {
                map.entry(name).or_insert(value);
            }
        }
        Scope {
            value: Value::from_serialize(&json),
            json,
            written: self.written.clone(),
            data: self.data.clone(),
            hostvars: self.hostvars.clone(),
        }
    }
}

/// A template engine with Ansible's filters and tests, and the given
/// handling of undefined values (printing one always fails).
fn engine(undefined: UndefinedBehavior) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    env.set_fuel(Some(FUEL));
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    // Python's methods on strings, lists and mappings (`s.startswith()`,
    // `d.items()`), which Ansible's templates call as Jinja does.
    env.set_unknown_method_callback(python_method);
    env.set_formatter(|out, state, value| match value.kind() {
        ValueKind::Undefined => Err(minijinja::Error::from(ErrorKind::UndefinedError)),
        ValueKind::Seq | ValueKind::Map | ValueKind::Bool | ValueKind::None => {
            let json = serde_json::to_value(value).unwrap_or(Json::Null);
            out.write_str(&python_repr(&json))
                .map_err(|_| minijinja::Error::from(ErrorKind::WriteFailure))
        }
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_filter("bool", to_bool);
    env.add_filter("to_json", super::json_out::to_json);
    env.add_filter("to_nice_json", super::json_out::to_nice_json);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("ternary", ternary);
    env.add_filter("basename", basename);
    env.add_filter("dirname", dirname);
    env.add_filter("quote", quote);
    env.add_filter("mandatory", mandatory);
    super::lookups::register(&mut env);
    super::clock::register(&mut env);
    super::filters::register(&mut env);
    super::path_filters::register(&mut env);
    super::list_filters::register(&mut env);
    super::jinja_tests::register(&mut env);
    env
}

/// Whether a value holds a template anywhere inside.
pub(crate) fn holds_template(value: &Json) -> bool {
    match value {
        Json::String(s) => Templates::is_template(s),
        Json::Array(items) => items.iter().any(holds_template),
        Json::Object(map) => map.values().any(holds_template),
        _ => false,
    }
}

impl Templates {
    /// An engine with Ansible's filters and tests.
    pub fn new() -> Templates {
        Templates {
            env: engine(UndefinedBehavior::Strict),
            chainable: std::sync::OnceLock::new(),
        }
    }

    /// The engine to try again with after `first` failed on an undefined
    /// value: the chaining one, for a template that guards against
    /// undefined values (`default`, `is defined`) — Ansible's undefined
    /// chains, minijinja's strict one does not. Any other template keeps
    /// the strict error.
    fn chaining_retry(
        &self,
        text: &str,
        first: &minijinja::Error,
    ) -> Option<&Environment<'static>> {
        let guards = ["default(", "d(", "defined", "mandatory", "is none"];
        (first.kind() == ErrorKind::UndefinedError && guards.iter().any(|g| text.contains(g))).then(
            || {
                self.chainable
                    .get_or_init(|| engine(UndefinedBehavior::Chainable))
            },
        )
    }

    /// Whether a string has anything to template.
    pub fn is_template(text: &str) -> bool {
        text.contains("{{") || text.contains("{%")
    }

    /// Renders a string. A string that is one `{{ expression }}` and nothing
    /// else keeps the expression's type (a list stays a list), as Ansible does.
    pub fn render_value(&self, text: &str, scope: &Scope) -> Result<Json, TemplateError> {
        self.render_value_at(text, scope, &[])
    }

    fn render_value_at(
        &self,
        text: &str,
        scope: &Scope,
        chain: &[&str],
    ) -> Result<Json, TemplateError> {
        if !Self::is_template(text) {
            return Ok(Json::String(text.to_string()));
        }
        if let Some(expr) = single_expression(text) {
            let value = self.eval_at(expr, scope, chain)?;
            return Ok(serde_json::to_value(&value).unwrap_or(Json::Null));
        }
        // One expression and a newline (YAML's `|` adds it): a number, a
        // boolean or a list keeps its type, as Jinja drops the newline;
        // text keeps the newline (ansible-core 2.19 does both).
        if let Some(expr) = text.strip_suffix('\n').and_then(single_expression) {
            let value = self.eval_at(expr, scope, chain)?;
            return Ok(match value.as_str() {
                Some(text) => Json::String(format!("{text}\n")),
                None => serde_json::to_value(&value).unwrap_or(Json::Null),
            });
        }
        // Anything more is text, even text that reads as a number or a
        // boolean (ansible-core 2.19 keeps `"{{ b }} "` a string).
        Ok(Json::String(self.render_text_at(text, scope, chain)?))
    }

    /// Renders a string to text. The output is never rendered again.
    pub fn render_text(&self, text: &str, scope: &Scope) -> Result<String, TemplateError> {
        self.render_text_at(text, scope, &[])
    }

    fn render_text_at(
        &self,
        text: &str,
        scope: &Scope,
        chain: &[&str],
    ) -> Result<String, TemplateError> {
        self.render_in(&self.env, None, text, scope, chain, HashSet::new())
    }

    /// Renders a template file's text with Ansible's `template` options
    /// (and those its `#jinja2:` line sets): the templates it includes,
    /// imports or extends are found by `search`, and the written
    /// variables they use are rendered for them as for the file itself.
    pub(crate) fn render_file(
        &self,
        text: &str,
        scope: &Scope,
        search: &TemplateSearch,
        options: &TemplateOptions,
    ) -> Result<String, TemplateError> {
        let mut options = options.clone();
        let text = options.read_overrides(text).map_err(TemplateError::Jinja)?;
        let named = template_files::named_templates(text, &options.block.0);
        if named.is_none() && options.are_default() {
            return Ok(options.end_lines(text, self.render_text(text, scope)?));
        }
        let env = template_files::file_engine(&self.env, search, &options)
            .map_err(|e| describe(&e, None))?;
        let used =
            template_files::variables_of_named(&env, named, &options.block.0, &scope.written);
        let rendered = self.render_in(&env, Some((search, &options)), text, scope, &[], used)?;
        Ok(options.end_lines(text, rendered))
    }

    /// Renders `text` with `env` (a template file's engine, when `file`
    /// gives its places and options), rendering first the written
    /// variables it uses and `also_used`.
    fn render_in(
        &self,
        env: &Environment<'static>,
        file: Option<(&TemplateSearch, &TemplateOptions)>,
        text: &str,
        scope: &Scope,
        chain: &[&str],
        also_used: HashSet<String>,
    ) -> Result<String, TemplateError> {
        let mut rewritten = None;
        let (text, template) = compiled_retrying(text, &mut rewritten, false, |text| {
            env.template_from_str(text)
        })?;
        let mut used = template.undeclared_variables(false);
        used.extend(also_used);
        let reach = lookup_reach(text, &used, scope, chain);
        let (scope, unrendered) = self.resolve(&used, &reach, scope, chain)?;
        match template.render(scope.context()) {
            Ok(text) => Ok(text),
            Err(e) => {
                if let Some(chaining) = self.chaining_retry(text, &e) {
                    let for_file = file.and_then(|(search, options)| {
                        template_files::file_engine(chaining, search, options).ok()
                    });
                    if let Ok(rendered) = for_file
                        .as_ref()
                        .unwrap_or(chaining)
                        .render_str(text, scope.context())
                    {
                        return Ok(rendered);
                    }
                }
                // A variable it uses that could not be rendered is the cause.
                Err(unrendered.unwrap_or_else(|| {
                    describe(&e, Some((&template.undeclared_variables(true), &scope)))
                }))
            }
        }
    }

    /// Evaluates a bare expression (a `when:` condition, `that:` item).
    pub fn eval(&self, expr: &str, scope: &Scope) -> Result<Value, TemplateError> {
        self.eval_at(expr, scope, &[])
    }

    fn eval_at(&self, expr: &str, scope: &Scope, chain: &[&str]) -> Result<Value, TemplateError> {
        let expr = expr.trim();
        let expr = single_expression(expr).unwrap_or(expr);
        let mut rewritten = None;
        let (expr, compiled) = compiled_retrying(expr, &mut rewritten, true, |text| {
            self.env.compile_expression(text)
        })?;
        let used = compiled.undeclared_variables(false);
        let reach = lookup_reach(expr, &used, scope, chain);
        let (scope, unrendered) = self.resolve(&used, &reach, scope, chain)?;
        let value = match compiled.eval(scope.context()) {
            Ok(value) => value,
            Err(e) => self
                .chaining_retry(expr, &e)
                .and_then(|env| {
                    env.compile_expression(expr)
                        .ok()?
                        .eval(scope.context())
                        .ok()
                })
                .ok_or_else(|| {
                    unrendered.clone().unwrap_or_else(|| {
                        describe(&e, Some((&compiled.undeclared_variables(true), &scope)))
                    })
                })?,
        };
        if value.is_undefined() {
            if let Some(cause) = unrendered {
                return Err(cause);
            }
            let names = compiled.undeclared_variables(true);
            return Err(undefined_variable(&names, &scope)
                .or_else(|| missing_step(expr, &scope))
                .unwrap_or_else(|| TemplateError::UndefinedExpression(expr.to_string())));
        }
        Ok(value)
    }

    /// Renders the written variables among `used` and `reach` (each in
    /// turn, as its own template may use others) and binds their results
    /// as data. One that cannot be rendered is left undefined rather than
    /// failing at once, as Ansible renders a variable only when it is
    /// read (`ready or later_var`, `later_var is undefined`): the error of
    /// the first such variable `used` names is given back, for the caller
    /// to report should the template fail.
    fn resolve<'s>(
        &self,
        used: &HashSet<String>,
        reach: &HashSet<String>,
        scope: &'s Scope,
        chain: &[&str],
    ) -> Result<(std::borrow::Cow<'s, Scope>, Option<TemplateError>), TemplateError> {
        let mut pending: Vec<&String> = used
            .iter()
            .chain(reach)
            .filter(|n| scope.written.contains(*n))
            .collect();
        if pending.is_empty() {
            return Ok((std::borrow::Cow::Borrowed(scope), None));
        }
        let mut unrendered = None;
        pending.sort();
        let mut json = scope.json.clone();
        let mut written = (*scope.written).clone();
        for name in pending {
            if chain.contains(&name.as_str()) {
                let mut path: Vec<&str> = chain.to_vec();
                path.push(name);
                return Err(TemplateError::SelfReference {
                    name: name.clone(),
                    path: path.join(" → "),
                });
            }
            if chain.len() >= MAX_DEPTH {
                return Err(TemplateError::TooDeep { name: name.clone() });
            }
            let mut inner = chain.to_vec();
            inner.push(name);
            written.remove(name);
            match self.render_json_at(&scope.json[name.as_str()], scope, &inner) {
                Ok(rendered) => json[name.as_str()] = rendered,
                Err(e) => {
                    if let Json::Object(map) = &mut json {
                        map.remove(name.as_str());
                    }
                    if used.contains(name) && unrendered.is_none() {
                        unrendered = Some(e);
                    }
                }
            }
        }
        let resolved = Scope {
            value: Value::from_serialize(&json),
            json,
            written: Arc::new(written),
            data: scope.data.clone(),
            hostvars: scope.hostvars.clone(),
        };
        Ok((std::borrow::Cow::Owned(resolved), unrendered))
    }

    /// Evaluates a condition to true or false, read as Ansible 2.19 reads
    /// one (see `conditional.rs`).
    pub fn condition(&self, expr: &str, scope: &Scope) -> Result<bool, TemplateError> {
        let shape = conditional::shape(expr);
        if let Some((inner, trusted)) = template_alone(&shape, scope) {
            let value = self.eval(inner, scope)?;
            return match value.as_str() {
                Some(text) if !trusted => Err(untrusted(expr, text)),
                Some(text) if text.trim().is_empty() => Err(TemplateError::EmptyConditional),
                Some(text) => self.expression_condition(text.trim(), scope),
                None => Ok(truthy(&value)),
            };
        }
        match shape {
            Shape::Empty => Err(TemplateError::EmptyConditional),
            Shape::Template(text) => match self.render_value(text, scope)? {
                Json::String(text) => Err(untrusted(expr, &text)),
                other => Ok(truthy_json(&other)),
            },
            Shape::Expression(text) => self.expression_condition(text, scope),
            Shape::Variable { .. } | Shape::Single(_) => {
                unreachable!("a template alone is read above")
            }
        }
    }

    /// The conditions a template alone stands for when it gives a list
    /// (`that: "{{ checks }}"`): each member, as an expression when it is
    /// text the user wrote (refused as untrusted otherwise), as its own
    /// truth when it is not text. `None` when `text` is not such a
    /// template.
    pub fn listed_conditions(
        &self,
        text: &str,
        scope: &Scope,
    ) -> Result<Option<Vec<String>>, TemplateError> {
        let Some((inner, trusted)) = template_alone(&conditional::shape(text), scope) else {
            return Ok(None);
        };
        let Ok(Json::Array(members)) = serde_json::to_value(self.eval(inner, scope)?) else {
            return Ok(None);
        };
        members
            .into_iter()
            .map(|member| match member {
                Json::String(member) if trusted => Ok(member),
                Json::String(member) => Err(untrusted(text, &member)),
                Json::Null => Ok(String::new()),
                other => Ok(other.to_string()),
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// Evaluates expression `expr` as a condition, each quoted string in
    /// it that holds a template rendered first (`x == '{{ y }}'`).
    fn expression_condition(&self, expr: &str, scope: &Scope) -> Result<bool, TemplateError> {
        let literals: Vec<_> = conditional::string_literals(expr)
            .into_iter()
            .filter(|l| Templates::is_template(&l.text))
            .collect();
        if literals.is_empty() {
            return Ok(truthy(&self.eval(expr, scope)?));
        }
        let mut rewritten = String::with_capacity(expr.len());
        let mut bound = scope.clone();
        let mut from = 0;
        for (n, literal) in literals.iter().enumerate() {
            let name = format!("__capstan_literal_{n}");
            let text = self.render_text(&literal.text, scope)?;
            bound = bound.with(&name, Json::String(text));
            rewritten.push_str(&expr[from..literal.start]);
            rewritten.push_str(&name);
            from = literal.end;
        }
        rewritten.push_str(&expr[from..]);
        Ok(truthy(&self.eval(&rewritten, &bound)?))
    }

    /// Templates every string inside a JSON value.
    pub fn render_json(&self, value: &Json, scope: &Scope) -> Result<Json, TemplateError> {
        self.render_json_at(value, scope, &[])
    }

    fn render_json_at(
        &self,
        value: &Json,
        scope: &Scope,
        chain: &[&str],
    ) -> Result<Json, TemplateError> {
        Ok(match value {
            Json::String(s) => self.render_value_at(s, scope, chain)?,
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|v| self.render_json_at(v, scope, chain))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json_at(v, scope, chain)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// A conditional that is one template alone giving a value (`{{ x }}`,
/// `{{ a == 1 }}`): its inner expression, and whether text it gives may
/// be evaluated as an expression — only a variable the user wrote
/// ([`Scope::trusts`]).
fn template_alone<'t>(shape: &Shape<'t>, scope: &Scope) -> Option<(&'t str, bool)> {
    match *shape {
        Shape::Variable { inner, root } => Some((inner, scope.trusts(root))),
        Shape::Single(inner) => Some((inner, false)),
        _ => None,
    }
}

/// Conditional `conditional`'s template gave `text`, which is refused.
fn untrusted(conditional: &str, text: &str) -> TemplateError {
    TemplateError::Untrusted {
        conditional: conditional.trim().to_string(),
        text: text.to_string(),
    }
}

/// `text` compiled by `compile`; when that fails on its syntax, compiled
/// again without unary pluses, which minijinja lacks (`unary_plus.rs`),
/// kept in `rewritten`. Gives the text compiled, and the error of the
/// first try when the second fails too.
fn compiled_retrying<'s, T>(
    text: &'s str,
    rewritten: &'s mut Option<String>,
    expression: bool,
    compile: impl Fn(&'s str) -> Result<T, minijinja::Error>,
) -> Result<(&'s str, T), TemplateError> {
    let first = match compile(text) {
        Ok(compiled) => return Ok((text, compiled)),
        Err(e) => e,
    };
    let retry = (first.kind() == ErrorKind::SyntaxError)
        .then(|| without_unary_plus(text, expression))
        .flatten();
    let Some(retry) = retry else {
        return Err(describe(&first, None));
    };
    let retry: &'s str = rewritten.insert(retry);
    compile(retry)
        .map(|compiled| (retry, compiled))
        .map_err(|_| describe(&first, None))
}

/// The written variables a template may read without naming them: every
/// one when it calls a lookup (`lookup('vars', name)` and a looked-up
/// template name theirs only as text), but those it names (`used`) and
/// those being rendered on the way here (`chain`: a variable whose own
/// template calls a lookup does not use itself).
fn lookup_reach(
    text: &str,
    used: &HashSet<String>,
    scope: &Scope,
    chain: &[&str],
) -> HashSet<String> {
    if !["lookup(", "query(", "q("]
        .iter()
        .any(|call| text.contains(call))
    {
        return HashSet::new();
    }
    scope
        .written
        .iter()
        .filter(|name| !chain.contains(&name.as_str()) && !used.contains(*name))
        .cloned()
        .collect()
}

/// `{{ expr }}` alone, without other text: its inner expression.
pub(crate) fn single_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    // A `}}` inside may close a mapping literal (`{'a': {'b': 1}}`), not
    // the expression: then the braces inside balance.
    let balanced = inner.matches('{').count() == inner.matches('}').count();
    (!inner.contains("{{") && !inner.contains("{%") && (!inner.contains("}}") || balanced))
        .then_some(inner)
}

fn describe(
    error: &minijinja::Error,
    undefined: Option<(&HashSet<String>, &Scope)>,
) -> TemplateError {
    if error.kind() == ErrorKind::OutOfFuel {
        return TemplateError::OutOfFuel;
    }
    if error.kind() == ErrorKind::UndefinedError
        && let Some((names, scope)) = undefined
        && let Some(missing) = undefined_variable(names, scope)
    {
        return missing;
    }
    TemplateError::Jinja(jinja_message(error))
}

/// Names the first variable (or attribute path) that the scope lacks.
fn undefined_variable(names: &HashSet<String>, scope: &Scope) -> Option<TemplateError> {
    let mut names: Vec<&String> = names.iter().collect();
    names.sort();
    for name in names {
        let mut parts = name.split('.');
        let root = parts.next()?;
        if root == "hostvars" && scope.hostvars.is_some() {
            continue;
        }
        let Some(mut value) = scope.json.get(root) else {
            return Some(TemplateError::Undefined(root.to_string()));
        };
        let mut path = root.to_string();
        for part in parts {
            path = format!("{path}.{part}");
            match value.get(part) {
                Some(inner) => value = inner,
                None => {
                    return Some(TemplateError::NoAttribute {
                        path,
                        kind: python_type(value),
                        attribute: part.to_string(),
                    });
                }
            }
        }
    }
    None
}

/// Where a bare variable path (`foo[0]`, `conf['a'].b`) finds nothing:
/// the step that is missing, named as Jinja names it.
fn missing_step(expr: &str, scope: &Scope) -> Option<TemplateError> {
    let (root, steps) = conditional::variable_path(expr)?;
    let mut value = scope.json.get(root)?;
    let mut path = root.to_string();
    for step in steps {
        let written = match &step {
            Step::Attribute(name) => format!(".{name}"),
            Step::Key(name) => format!("['{name}']"),
            Step::Index(index) => format!("[{index}]"),
        };
        path.push_str(&written);
        match step {
            Step::Attribute(name) | Step::Key(name) => {
                let Some(inner) = value.get(name.as_str()) else {
                    return Some(TemplateError::NoAttribute {
                        path,
                        kind: python_type(value),
                        attribute: name,
                    });
                };
                value = inner;
            }
            Step::Index(index) => {
                let inner = match value {
                    Json::Array(items) => {
                        let at = if index < 0 {
                            items.len() as i64 + index
                        } else {
                            index
                        };
                        usize::try_from(at).ok().and_then(|at| items.get(at))
                    }
                    Json::Object(map) => map.get(&index.to_string()),
                    _ => None,
                };
                let Some(inner) = inner else {
                    return Some(TemplateError::NoElement {
                        path,
                        kind: python_type(value),
                        index,
                    });
                };
                value = inner;
            }
        }
    }
    None
}

/// A JSON value's type as Python names it.
fn python_type(value: &Json) -> &'static str {
    match value {
        Json::Object(_) => "dict",
        Json::Array(_) => "list",
        Json::String(_) => "str",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::Null => "NoneType",
    }
}

fn to_bool(value: Value) -> bool {
    truthy(&value)
}

/// How Python prints a value (`['a', 1]`, `{'k': True}`), which is what
/// Ansible writes when a list or mapping is templated into text.
fn python_repr(value: &Json) -> String {
    match value {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => python_str(s),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", python_str(k), python_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn python_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn compile_regex(pattern: &str) -> Result<regex::Regex, minijinja::Error> {
    regex::Regex::new(pattern).map_err(|e| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("bad regular expression `{pattern}`: {e}"),
        )
    })
}

/// Python's replacement syntax (`\1`, `\g<name>`) in Rust's (`${1}`).
fn python_replacement(replacement: &str) -> String {
    let mut out = String::new();
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut group = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        group.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{group}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn regex_replace(
    value: String,
    pattern: String,
    replacement: Option<String>,
) -> Result<String, minijinja::Error> {
    let re = compile_regex(&pattern)?;
    let replacement = python_replacement(&replacement.unwrap_or_default());
    Ok(re.replace_all(&value, replacement.as_str()).into_owned())
}

fn regex_search(value: String, pattern: String) -> Result<Value, minijinja::Error> {
    let re = compile_regex(&pattern)?;
    Ok(re
        .find(&value)
        .map(|m| Value::from(m.as_str()))
        .unwrap_or(Value::from(())))
}

fn ternary(value: Value, yes: Value, no: Value) -> Value {
    if truthy(&value) { yes } else { no }
}

fn basename(path: String) -> String {
    path.rsplit('/').next().unwrap_or_default().to_string()
}

fn dirname(path: String) -> String {
    match path.rfind('/') {
        Some(0) => "/".into(),
        Some(i) => path[..i].to_string(),
        None => String::new(),
    }
}

fn quote(value: String) -> String {
    capstan_remote::quote(&value)
}

fn mandatory(value: Value) -> Result<Value, minijinja::Error> {
    if value.is_undefined() {
        return Err(minijinja::Error::new(
            ErrorKind::UndefinedError,
            "a mandatory variable is not defined",
        ));
    }
    Ok(value)
}

/// Python's methods on values, as Ansible's templates call them:
/// minijinja-contrib's (`startswith`, `items`, ...) and a list's `index`
/// and `count`.
fn python_method(
    state: &minijinja::State,
    value: &minijinja::Value,
    method: &str,
    args: &[minijinja::Value],
) -> Result<minijinja::Value, minijinja::Error> {
    use minijinja::value::ValueKind;
    if value.kind() == ValueKind::Seq
        && let ("index" | "count", [wanted]) = (method, args)
    {
        let items: Vec<minijinja::Value> = value.try_iter()?.collect();
        return if method == "count" {
            Ok(minijinja::Value::from(
                items.iter().filter(|i| *i == wanted).count(),
            ))
        } else {
            items
                .iter()
                .position(|i| i == wanted)
                .map(minijinja::Value::from)
                .ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("{wanted} is not in list"),
                    )
                })
        };
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        Scope::new(json!({
            "pkgs": ["git", "curl"], "name": "Web", "port": 80, "flag": "yes",
            "result": {"stdout": "hello", "changed": true}
        }))
    }

    #[test]
    fn an_undefined_chain_meets_its_guard_but_is_never_printed() {
        let t = Templates::new();
        let render = |text: &str| t.render_value(text, &scope());
        assert_eq!(
            render("{{ nothing.here | default('z') }}").unwrap(),
            json!("z")
        );
        assert_eq!(
            render("{{ result.nope.deeper | default(1) }}").unwrap(),
            json!(1)
        );
        assert_eq!(
            render("{{ nothing.here is defined }}").unwrap(),
            json!(false)
        );
        assert_eq!(
            render("a {{ nothing.x | d('b') }} c").unwrap(),
            json!("a b c")
        );
        assert!(
            t.eval("nothing.here is undefined", &scope())
                .unwrap()
                .is_true()
        );
        // Unguarded, the chain is the undefined variable it starts from.
        let error = render("{{ nothing.here }}").unwrap_err().to_string();
        assert!(error.contains("nothing"), "{error}");
        // Guarded somewhere else, printing one is still an error.
        assert!(render("{{ nothing.here }} {{ port | default(1) }}").is_err());
        assert!(render("{{ nothing | lower }}").is_err());
    }

    #[test]
    fn python_methods_and_ansible_tests_work_as_in_ansible() {
        let t = Templates::new();
        let check = |expr: &str| t.condition(expr, &scope()).unwrap();
        assert!(check("name.startswith('W') and name.lower() == 'web'"));
        assert!(check("result is successful and result is changed"));
        assert!(check("pkgs is contains('git') and 'ell' in result.stdout"));
        assert!(check(
            "result.stdout is match('hel') and not (result.stdout is match('ell'))"
        ));
        assert!(check("result.stdout is search('ell')"));
        assert!(check(
            "['git'] is subset(pkgs) and pkgs is superset(['curl'])"
        ));
        assert!(check("'2.19.4' is version('2.9', '>')"));
        assert!(check("pkgs | difference(['git']) == ['curl']"));
        assert!(check("'/etc' is abs and not ('etc' is abs)"));
    }

    #[test]
    fn one_expression_and_a_newline_keeps_a_number_but_text_keeps_the_newline() {
        let t = Templates::new();
        let value = |text: &str| t.render_value(text, &scope()).unwrap();
        assert_eq!(value("{{ port }}\n"), json!(80));
        assert_eq!(value("{{ result.changed }}\n"), json!(true));
        assert_eq!(value("{{ name }}\n"), json!("Web\n"));
        assert_eq!(
            value("{{ result.changed }} "),
            json!("True "),
            "more than one part is text"
        );
        assert_eq!(value("{{ port }}{{ port }}"), json!("8080"));
    }

    #[test]
    fn single_expressions_keep_their_type() {
        let t = Templates::new();
        assert_eq!(
            t.render_value("{{ pkgs }}", &scope()).unwrap(),
            json!(["git", "curl"])
        );
        assert_eq!(
            t.render_value("{{ port + 1 }}", &scope()).unwrap(),
            json!(81)
        );
        assert_eq!(
            t.render_value("port {{ port }}", &scope()).unwrap(),
            json!("port 80")
        );
        assert_eq!(
            t.render_value("{{ pkgs }} and {{ flag | bool }}", &scope())
                .unwrap(),
            json!("['git', 'curl'] and True")
        );
    }

    #[test]
    fn ansible_filters() {
        let t = Templates::new();
        let r = |s: &str| t.render_value(s, &scope()).unwrap();
        assert_eq!(r("{{ missing | default('x') }}"), json!("x"));
        assert_eq!(r("{{ missing | d(3) }}"), json!(3));
        assert_eq!(r("{{ pkgs | join(',') }}"), json!("git,curl"));
        assert_eq!(r("{{ name | lower }}-{{ name | upper }}"), json!("web-WEB"));
        assert_eq!(r("{{ name | replace('W', 'w') }}"), json!("web"));
        assert_eq!(
            r("{{ 'a-1' | regex_replace('(\\\\w)-(\\\\d)', '\\\\2\\\\1') }}"),
            json!("1a")
        );
        assert_eq!(r("{{ pkgs | to_json }}"), json!("[\"git\", \"curl\"]"));
        assert_eq!(r("{{ pkgs | length }}"), json!(2));
        assert_eq!(r("{{ flag | bool }}"), json!(true));
        assert_eq!(r("{{ result is changed }}"), json!(true));
    }

    #[test]
    fn hostvars_are_shared_data_and_named_when_missing() {
        let t = Templates::new();
        let hostvars = Value::from_serialize(json!({"db-1": {"port": 5432, "tpl": "{{ x }}"}}));
        let with = Scope::new(json!({"x": 1})).with_hostvars(Some(hostvars));
        assert_eq!(
            t.render_value("{{ hostvars['db-1'].port + x }}", &with)
                .unwrap(),
            json!(5433)
        );
        assert_eq!(
            t.render_value("{{ hostvars['db-1'].tpl }}", &with).unwrap(),
            json!("{{ x }}"),
            "another host's values are data"
        );
        assert!(t.condition("'db-1' in hostvars", &with).unwrap());
        let err = t
            .render_value("{{ hostvars['db-1'].port }}", &scope())
            .unwrap_err();
        assert_eq!(err, TemplateError::Undefined("hostvars".into()));
    }

    #[test]
    fn undefined_variables_are_named() {
        let t = Templates::new();
        let err = t.render_value("x {{ nope }} y", &scope()).unwrap_err();
        assert_eq!(err, TemplateError::Undefined("nope".into()));
        let err = t
            .render_value("{{ result.stdout_lines }}", &scope())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "undefined variable `result.stdout_lines`: object of type 'dict' has no attribute \
             'stdout_lines'"
        );
        let err = t.condition("nope == 1", &scope()).unwrap_err();
        assert_eq!(err, TemplateError::Undefined("nope".into()));
        assert!(t.condition("nope is not defined", &scope()).unwrap());
        // An index past the end, or a key a mapping lacks, as Jinja says.
        let err = t.render_value("{{ pkgs[2] }}", &scope()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "undefined variable `pkgs[2]`: list object has no element 2"
        );
        assert_eq!(
            t.render_value("{{ pkgs[-1] }}", &scope()),
            Ok(json!("curl"))
        );
        let err = t.render_value("{{ result['rc'] }}", &scope()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "undefined variable `result['rc']`: object of type 'dict' has no attribute 'rc'"
        );
    }

    fn layers(written: Json, data: Json) -> Scope {
        let (Json::Object(written), Json::Object(data)) = (written, data) else {
            unreachable!()
        };
        Scope::layered([(&written, Origin::Written), (&data, Origin::Data)])
    }

    #[test]
    fn a_variable_is_rendered_only_when_it_is_read() {
        let t = Templates::new();
        let scope = layers(
            json!({ "deep": "{{ nested_missing }}", "ready": true }),
            json!({}),
        );
        assert_eq!(t.condition("ready or deep", &scope), Ok(true));
        assert_eq!(t.condition("deep is undefined", &scope), Ok(true));
        assert_eq!(
            t.render_value("{{ deep | default('d') }}", &scope),
            Ok(json!("d"))
        );
        // Read, it fails with what it lacks.
        let missing = Err(TemplateError::Undefined("nested_missing".into()));
        assert_eq!(t.render_value("{{ deep }}", &scope), missing);
        assert_eq!(t.render_value("x {{ deep }}", &scope), missing);
        assert_eq!(
            t.condition("deep == 1", &scope).map(|_| ()),
            missing.map(|_: Json| ())
        );
    }

    #[test]
    fn a_unary_plus_is_read_as_jinja_reads_it() {
        let t = Templates::new();
        let scope = Scope::new(json!({ "x": 2 }));
        assert_eq!(
            t.render_value("[1] + {{ [-2.5, +2.5, 1 + 2.5] }}", &scope),
            Ok(json!("[1] + [-2.5, 2.5, 3.5]"))
        );
        assert_eq!(t.render_value("{{ +x + +1 }}", &scope), Ok(json!(3)));
        assert_eq!(t.condition("+x == 2", &scope), Ok(true));
        // A syntax error without a unary plus is still named as it was.
        assert!(matches!(
            t.render_value("{{ x + }}", &scope),
            Err(TemplateError::Jinja(_))
        ));
    }

    #[test]
    fn conditionals_are_read_as_ansible_2_19_reads_them() {
        let t = Templates::new();
        let scope = layers(
            json!({
                "family": "Debian", "a": 1,
                "is_one": "a == 1", "is_two": "a == 2",
                "pieced": "{{ 'a' }} == 1",
                "checks": ["a == 1", "os == 'Debian'"],
                "truths": ["{{ a == 1 }}", "{{ a == 2 }}"],
            }),
            json!({ "out": "a == 1", "os": "Debian", "lines": ["a == 1"] }),
        );
        let check = |expr: &str| t.condition(expr, &scope);
        // A quoted template inside an expression is rendered first.
        assert_eq!(check("os == '{{ family }}'"), Ok(true));
        assert_eq!(check("os == 'x{{ family }}'"), Ok(false));
        assert_eq!(check(r#"dict({"d": "{{ 'd' }}"})["d"] == "d""#), Ok(true));
        // A template naming a variable the user wrote holding an expression.
        assert_eq!(check("{{ is_one }}"), Ok(true));
        assert_eq!(check(" {{ is_two }}\n"), Ok(false));
        assert_eq!(check("{{ a == 1 }}"), Ok(true));
        // A template alone: its quoted templates are left as text.
        assert_eq!(
            check(r#"{{ dict({"d": "{{ 'd' }}"})["d"] == "{" + "{ 'd' }}" }}"#),
            Ok(true)
        );
        // Text from data, or pieced together, is never an expression.
        for (expr, text) in [
            ("{{ out }}", "a == 1"),
            ("{{ pieced }}", "a == 1"),
            ("{{ 'hello' }} == {{ 'world' }}", "hello == world"),
            ("{{ 'a' ~ ' == 1' }}", "a == 1"),
        ] {
            let err = check(expr).unwrap_err();
            assert_eq!(
                err,
                TemplateError::Untrusted {
                    conditional: expr.into(),
                    text: text.into()
                },
                "{expr}"
            );
            assert!(err.to_string().contains("untrusted template or expression"));
        }
        assert_eq!(check("  "), Err(TemplateError::EmptyConditional));
        // A template giving a list stands for each member.
        let listed = |text: &str| t.listed_conditions(text, &scope);
        assert_eq!(
            listed("{{ checks }}"),
            Ok(Some(vec!["a == 1".into(), "os == 'Debian'".into()]))
        );
        assert_eq!(
            listed("{{ truths }}"),
            Ok(Some(vec!["true".into(), "false".into()]))
        );
        assert!(matches!(
            listed("{{ lines }}"),
            Err(TemplateError::Untrusted { .. })
        ));
        assert_eq!(listed("a == 1"), Ok(None));
        assert_eq!(listed("{{ is_one }}"), Ok(None));
        // A loop item the user wrote as it is may be an expression; one
        // from data may not.
        let written = scope.with_written("item", json!("a == 42"));
        assert_eq!(t.condition("{{ item }}", &written), Ok(false));
        let data = written.with("item", json!("a == 1"));
        assert!(matches!(
            t.condition("{{ item }}", &data),
            Err(TemplateError::Untrusted { .. })
        ));
    }

    #[test]
    fn written_variables_render_when_used_and_data_never_does() {
        let t = Templates::new();
        let scope = layers(
            json!({
                "secret_token": "SUPERSECRET",
                "base": "https://{{ host }}",
                "url": "{{ base }}/api",
                "host": "example.test",
                "shout": "{{ result.stdout | upper }}",
            }),
            json!({ "result": { "stdout": "{{ secret_token }} {{ 7*7 }}" } }),
        );
        assert_eq!(
            t.render_value("{{ url }}", &scope).unwrap(),
            json!("https://example.test/api")
        );
        assert_eq!(
            t.render_value("go to {{ url }}", &scope).unwrap(),
            json!("go to https://example.test/api")
        );
        // What a host said is printed as it said it, however it is reached.
        let hostile = "{{ secret_token }} {{ 7*7 }}";
        assert_eq!(
            t.render_value("{{ result.stdout }}", &scope).unwrap(),
            json!(hostile)
        );
        assert_eq!(
            t.render_text("out: {{ result.stdout }}", &scope).unwrap(),
            format!("out: {hostile}")
        );
        assert_eq!(
            t.eval("result.stdout", &scope).unwrap().as_str(),
            Some(hostile)
        );
        assert_eq!(
            t.render_value("{{ shout }}", &scope).unwrap(),
            json!("{{ SECRET_TOKEN }} {{ 7*7 }}")
        );
        // A loop item bound later is data too.
        let item = scope.with("item", json!("{{ secret_token }}"));
        assert_eq!(
            t.render_value("{{ item }}", &item).unwrap(),
            json!("{{ secret_token }}")
        );
        // A data layer overriding a written name makes it data.
        let overridden = layers(json!({ "x": "{{ 1 + 1 }}" }), json!({ "x": "{{ 2 + 2 }}" }));
        assert_eq!(
            t.render_value("{{ x }}", &overridden).unwrap(),
            json!("{{ 2 + 2 }}")
        );
    }

    #[test]
    fn a_variable_that_refers_to_itself_is_named() {
        let t = Templates::new();
        let scope = layers(json!({ "a": "{{ b }}", "b": "x{{ a }}" }), json!({}));
        let err = t.render_value("{{ a }}", &scope).unwrap_err();
        assert_eq!(err.to_string(), "variable `a` refers to itself (a → b → a)");
    }

    #[test]
    fn a_template_that_would_run_forever_is_stopped() {
        let t = Templates::new();
        let err = t
            .render_text(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                &scope(),
            )
            .unwrap_err();
        assert_eq!(err, TemplateError::OutOfFuel);
        assert!(err.to_string().contains("was stopped"), "{err}");
        // An ordinary loop is well within the limit.
        let out = t
            .render_text(
                "{% for i in range(100) %}{% for j in range(100) %}.{% endfor %}{% endfor %}",
                &scope(),
            )
            .unwrap();
        assert_eq!(out.len(), 10_000);
    }

    #[test]
    fn an_unsafe_string_renders_to_exactly_its_text() {
        let t = Templates::new();
        let scope = layers(json!({ "secret": "S3CRET" }), json!({}));
        for text in [
            "{{ secret }}",
            "{{ secret }} and {% for i in range(9) %}x{% endfor %}",
            "quotes ' \" and \\ backslash }} {# not a comment #}\nnew line\t\u{7f} é 🦀",
            "{% endraw %}{{ secret }}",
        ] {
            let written = capstan_yaml::unsafe_text(text);
            assert_eq!(t.render_value(&written, &scope).unwrap(), json!(text));
            // Through a written variable too, as `vars: {a: !unsafe ...}`.
            let vars = layers(json!({ "secret": "S3CRET", "a": written }), json!({}));
            assert_eq!(t.render_value("{{ a }}", &vars).unwrap(), json!(text));
            assert_eq!(
                t.render_text("<{{ a }}>", &vars).unwrap(),
                format!("<{text}>")
            );
        }
    }
}
