//! The documented routes, read from the OpenAPI document (`openapi::route_table`): which
//! methods a path answers and which query parameters each operation takes. Checked by
//! `http::routes` on every request; named in metrics.
use actix_web::dev::ResourceDef;
use actix_web::http::Method;

/// Each method a path answers, with the query parameters it takes.
pub type Operations = Vec<(Method, Vec<String>)>;

pub struct Route {
    pub def: ResourceDef,
    /// `GET, HEAD, PATCH`: the `Allow` header of a 405.
    pub allow: String,
    /// Each method with the query parameters it takes.
    methods: Operations,
}

pub struct RouteTable(Vec<Route>);

impl RouteTable {
    pub fn new(table: Vec<(String, Operations)>) -> Self {
        RouteTable(
            table
                .into_iter()
                .map(|(path, methods)| {
                    let mut allow: Vec<&str> = Vec::new();
                    for (method, _) in &methods {
                        allow.push(method.as_str());
                        if method == Method::GET {
                            allow.push("HEAD");
                        }
                    }
                    Route {
                        def: ResourceDef::new(path),
                        allow: allow.join(", "),
                        methods,
                    }
                })
                .collect(),
        )
    }

    pub fn find(&self, path: &str) -> Option<&Route> {
        self.0.iter().find(|route| route.def.is_match(path))
    }

    /// The first query parameter `method` on `path` does not take, if any.
    pub fn unknown_parameter(&self, method: &Method, path: &str, query: &str) -> Option<String> {
        if query.is_empty() {
            return None;
        }
        let known = &self
            .find(path)?
            .methods
            .iter()
            .find(|(m, _)| m == method)?
            .1;
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, _)| name)
            .find(|name| !known.iter().any(|k| k == name))
            .map(|name| name.into_owned())
    }
}
