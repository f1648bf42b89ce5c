//! The e-mail server section: the SMTP server e-mail channels send
//! through, configured once; its password is a secret, named here.

use leptos::prelude::*;

use crate::api::{self, ApiError, SmtpSecurity, SmtpSettings};
use crate::components::field::{Notice, TextField, error_about, given};

/// The SMTP settings, filled from what is stored, saved whole.
#[component]
pub fn Smtp(on_changed: Callback<(bool, String)>) -> impl IntoView {
    let host = RwSignal::new(String::new());
    let port = RwSignal::new("587".to_string());
    let security = RwSignal::new("starttls".to_string());
    let from = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let password_secret = RwSignal::new(String::new());
    let ca_cert = RwSignal::new(String::new());
    let error = RwSignal::new(None::<ApiError>);
    let about = move |field: &'static str| error_about(error, field);
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| e.field.is_none())
            .map(|e| (false, e.message))
    });
    leptos::task::spawn_local(async move {
        if let Ok(Some(stored)) = api::smtp().await {
            host.set(stored.host);
            port.set(stored.port.to_string());
            security.set(stored.security.to_string());
            from.set(stored.from);
            user.set(stored.user.unwrap_or_default());
            password_secret.set(stored.password_secret.unwrap_or_default());
            ca_cert.set(stored.ca_cert.unwrap_or_default());
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(port_number) = port.get().trim().parse::<u16>() else {
            error.set(Some(ApiError::field(
                "port",
                "a port is a number from 1 to 65535",
            )));
            return;
        };
        let settings = SmtpSettings {
            host: host.get().trim().to_string(),
            port: port_number,
            security: security.get().parse().unwrap_or(SmtpSecurity::Starttls),
            from: from.get().trim().to_string(),
            user: given(user),
            password_secret: given(password_secret),
            ca_cert: given(ca_cert),
        };
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::set_smtp(settings).await {
                Ok(()) => on_changed.run((true, "E-mail server saved.".to_string())),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="smtp">
            <div class="section-head"><h2>"E-mail server"</h2></div>
            <form class="panel smtp-form" on:submit=save>
                <div class="grid2">
                    <TextField label="SMTP host" name="smtp-host" value=host error=about("host") placeholder="smtp.example.org" />
                    <TextField label="Port" name="smtp-port" value=port error=about("port") placeholder="587" />
                    <div class="field">
                        <label for="field-smtp-security">"Security"</label>
                        <select id="field-smtp-security" prop:value=move || security.get() on:change=move |ev| security.set(event_target_value(&ev))>
                            <option value="starttls">"STARTTLS when offered"</option>
                            <option value="required">"STARTTLS required"</option>
                            <option value="tls">"TLS from the start (465)"</option>
                        </select>
                    </div>
                    <TextField label="From" name="smtp-from" value=from error=about("from") placeholder="capstan@example.org" />
                    <TextField label="User (optional)" name="smtp-user" value=user error=about("user") />
                    <TextField label="Password secret (optional)" name="smtp-password-secret" value=password_secret error=about("password_secret")
                        placeholder="smtp_password" hint="The name of a secret holding the password." />
                    <TextField label="Extra CA file (optional)" name="smtp-ca-cert" value=ca_cert error=about("ca_cert") placeholder="/etc/capstan/mail-ca.pem" />
                </div>
                <Notice message=general />
                <div class="actions"><button type="submit" id="save-smtp">"Save"</button></div>
            </form>
        </section>
    }
}
