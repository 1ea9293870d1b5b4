//! The app once more, inside the process, for the API requests that agents' tool calls and
//! the desk's pages stand for, each sent as the caller's own request: its credentials,
//! addresses and request id. No write the desk or an agent makes takes another path.
use std::rc::Rc;

use actix_service::boxed::{BoxFuture, RcService};
use actix_service::{IntoServiceFactory, Service, ServiceExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{AppConfig, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, HttpMessage, HttpRequest};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::observe::{REQUEST_ID, RequestId};

/// What is read of an answer at most (a batch's answers are at most 8 MB).
const MAX_READ_BYTES: usize = 16 << 20;
/// The caller's headers an inner request carries: who it is and where it came from, so the
/// token, the addresses and the links in answers are those of the caller's own request.
const CARRIED: &[&str] = &[
    "authorization",
    "host",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "user-agent",
];
/// Set on a replayed answer by `http::idempotency`.
const REPLAYED: &str = "idempotent-replayed";

type AppService = RcService<actix_http::Request, ServiceResponse<BoxBody>, actix_web::Error>;
type MakeApp = dyn Fn() -> BoxFuture<Result<AppService, ()>>;

/// The app once more, per worker, for the requests tool calls and desk pages stand for:
/// made by the same function as the app the worker serves (so no write takes another
/// path), on the worker's first such request. Its requests are logged and counted like any,
/// under the outer request's id.
#[derive(Clone)]
pub struct Inner {
    make: Rc<MakeApp>,
    app: Rc<tokio::sync::OnceCell<AppService>>,
}

impl Inner {
    pub fn new<F, T, B>(make: F) -> Inner
    where
        F: Fn() -> App<T> + 'static,
        T: ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse<B>,
                Error = actix_web::Error,
                InitError = (),
            > + 'static,
        B: MessageBody + 'static,
    {
        Inner {
            make: Rc::new(move || {
                let factory = make().into_factory();
                Box::pin(async move {
                    let app = factory.new_service(AppConfig::default()).await?;
                    let app = app.map(ServiceResponse::map_into_boxed_body);
                    Ok(actix_service::boxed::rc_service(app))
                })
            }),
            app: Rc::new(tokio::sync::OnceCell::new()),
        }
    }

    async fn call_app(&self, request: actix_http::Request) -> Result<ServiceResponse, ApiError> {
        let app = self
            .app
            .get_or_try_init(|| (self.make)())
            .await
            .map_err(|()| {
                ApiError::Internal("the app for inner requests could not be made".into())
            })?;
        app.call(request)
            .await
            .map_err(|error| ApiError::Internal(format!("an inner request failed: {error}")))
    }

    /// Sends `request` through the app as the caller of `from`, from its address, under its
    /// request id.
    pub async fn send(&self, from: &HttpRequest, request: Request) -> Result<Answer, ApiError> {
        let mut inner = actix_http::Request::with_payload(actix_http::Payload::from(request.body));
        let head = inner.head_mut();
        head.method = request.method;
        head.uri = request
            .path_and_query
            .parse()
            .map_err(|_| ApiError::Internal("an inner request has an unreadable path".into()))?;
        head.peer_addr = from.peer_addr();
        for (name, value) in request.headers {
            // A header the caller meant (an `If-Match`) is never silently left out.
            let value = header::HeaderValue::from_str(&value).map_err(|_| {
                ApiError::BadRequest(format!("the {name} value has characters a header cannot"))
            })?;
            head.headers.append(name, value);
        }
        for name in CARRIED {
            if let Some(value) = from.headers().get(*name) {
                head.headers
                    .insert(header::HeaderName::from_static(name), value.clone());
            }
        }
        if let Some(id) = from.extensions().get::<RequestId>()
            && let Ok(id) = header::HeaderValue::from_str(&id.0)
        {
            head.headers.insert(REQUEST_ID, id);
        }
        head.headers.insert(
            header::ACCEPT,
            header::HeaderValue::from_static("application/json"),
        );
        let response = self.call_app(inner).await?;
        let read = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let cookies = response
            .headers()
            .get_all(header::SET_COOKIE)
            .cloned()
            .collect();
        let etag = read("etag");
        let location = read("location");
        let replayed = read(REPLAYED).is_some_and(|v| v == "true");
        let status = response.status();
        let body =
            match actix_web::body::to_bytes_limited(response.into_body(), MAX_READ_BYTES).await {
                Ok(Ok(bytes)) if bytes.is_empty() => Some(Value::Null),
                Ok(Ok(bytes)) => Some(
                    serde_json::from_slice(&bytes)
                        .unwrap_or_else(|_| json!({"text": String::from_utf8_lossy(&bytes)})),
                ),
                Ok(Err(error)) => {
                    return Err(ApiError::Internal(format!(
                        "an inner request's answer failed: {error}"
                    )));
                }
                Err(_) => None,
            };
        Ok(Answer {
            status,
            etag,
            location,
            replayed,
            cookies,
            body,
        })
    }
}

/// An API request made inside the process.
pub struct Request {
    pub method: Method,
    pub path_and_query: String,
    pub headers: Vec<(header::HeaderName, String)>,
    pub body: Vec<u8>,
}

/// What the API answered.
pub struct Answer {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub location: Option<String>,
    pub replayed: bool,
    /// `Set-Cookie` headers (the desk's sign-in and sign-out pass them on).
    pub cookies: Vec<header::HeaderValue>,
    /// `None`: larger than is read at all.
    pub body: Option<Value>,
}
