//! Sending from the page: one catalogue fixture (with `--set` overrides) or a whole journey.

use serde::Deserialize;

use super::api_error::ApiError;
use super::state::{DevEvent, DevState};
use super::webhooks::{Sent, Target, WebhookView, deliver};
use crate::qonversion::{Fixture, WebhookEvent, event_kind, overrides};

/// Most overrides in one send.
const MAX_OVERRIDES: usize = 100;

/// `POST /api/send`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// A fixture name (`trial_started.ios`) or an event name (`trial_started`: its iOS fixture).
    pub fixture: String,
    /// Overrides as `send --set` takes them: `PATH=VALUE`.
    #[serde(default)]
    pub set: Vec<String>,
    /// Follow Qonversion's retry schedule (compressed) while attempts fail.
    #[serde(default)]
    pub retry: bool,
}

/// `POST /api/journey`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JourneyRequest {
    /// A journey name.
    pub journey: String,
    /// Follow Qonversion's retry schedule for each event.
    #[serde(default)]
    pub retry: bool,
}

impl DevState {
    /// Sends one fixture with its overrides; the webhook as the page shows it.
    pub async fn send_fixture(&self, request: &SendRequest) -> Result<WebhookView, ApiError> {
        let fixture = self.find_fixture(request.fixture.trim())?;
        if request.set.len() > MAX_OVERRIDES {
            return Err(ApiError::bad_request(format!("at most {MAX_OVERRIDES} overrides per send")));
        }
        let sets: Vec<String> =
            request.set.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        let mut body = fixture.event.to_value();
        let event = overrides::apply_all(&mut body, &sets, &fixture.name)?;
        let target = self.target(request.retry)?;
        Ok(self.send_one(&target, &event, fixture.name.clone(), sets).await)
    }

    /// Sends every event of a journey in order (each after the previous one's answer).
    pub async fn send_journey(&self, request: &JourneyRequest) -> Result<Vec<WebhookView>, ApiError> {
        let name = request.journey.trim();
        let Some(journey) = self.catalogue.journeys.iter().find(|j| j.name == name) else {
            let names: Vec<&str> = self.catalogue.journeys.iter().map(|j| j.name.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "unknown journey {name:?}; journeys: {}",
                names.join(", ")
            )));
        };
        let target = self.target(request.retry)?;
        let mut views = Vec::new();
        for (i, event) in journey.events.iter().enumerate() {
            let source = format!("journey {}, event {} of {}", journey.name, i + 1, journey.events.len());
            views.push(self.send_one(&target, event, source, Vec::new()).await);
        }
        Ok(views)
    }

    async fn send_one(
        &self,
        target: &Target,
        event: &WebhookEvent,
        source: String,
        sets: Vec<String>,
    ) -> WebhookView {
        let variant = self.variant();
        let delivery = deliver(target, event).await;
        let sent = Sent {
            source,
            overrides: sets,
            variant: variant.name.clone(),
            settings: &variant.settings,
            event,
        };
        let mut log = self.webhooks();
        let view = sent.view(log.next_id(), &delivery, &self.redactor);
        log.push(view.clone());
        drop(log);
        self.publish(DevEvent::Webhook(view.clone()));
        view
    }

    fn target(&self, retry: bool) -> Result<Target, ApiError> {
        let url = self.relay.webhook_url().ok_or_else(|| {
            let info = self.relay.info();
            let why = info.problem.map(|p| format!(": {p}")).unwrap_or_default();
            ApiError::conflict(format!(
                "the relay is not running (it is {}{why}); restart it first",
                info.state
            ))
        })?;
        Ok(Target { url, token: self.token.clone(), retry })
    }

    /// A fixture by name, or the iOS (else first) fixture of an event name.
    fn find_fixture(&self, name: &str) -> Result<&Fixture, ApiError> {
        let events = &self.catalogue.events;
        if let Some(fixture) = events.iter().find(|f| f.name == name) {
            return Ok(fixture);
        }
        if event_kind(name).is_some() {
            let of_event = |f: &&Fixture| f.event.event_name == name;
            let ios = events.iter().filter(of_event).find(|f| f.name.ends_with(".ios"));
            if let Some(fixture) = ios.or_else(|| events.iter().find(of_event)) {
                return Ok(fixture);
            }
        }
        let near: Vec<&str> =
            events.iter().map(|f| f.name.as_str()).filter(|n| n.contains(name)).take(5).collect();
        let hint = if near.is_empty() || name.is_empty() {
            "search the catalogue with GET /api/fixtures?q=TEXT".to_string()
        } else {
            format!("did you mean {}?", near.join(", "))
        };
        Err(ApiError::bad_request(format!("unknown fixture {name:?}: {hint}")))
    }
}
