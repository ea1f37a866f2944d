//! What the benchmarks share: a signed-in HTTP client of the server functions, and their
//! latency figures. (Not an example of its own: cargo runs only `examples/*.rs`.)

#![allow(dead_code)]

use std::time::{Duration, Instant};

use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl Client {
    pub async fn signed_in(base: &str, name: &str) -> Client {
        let client = Client {
            http: reqwest::Client::builder().cookie_store(true).build().unwrap(),
            base: base.to_string(),
        };
        let (status, _) = client
            .form("auth/sign-in", &[("name", name), ("password", PASSWORD)])
            .await;
        assert_eq!(status, 200, "{name} signs in");
        client
    }

    pub async fn form(&self, endpoint: &str, args: &[(&str, &str)]) -> (u16, Value) {
        let body: String = args
            .iter()
            .map(|(k, v)| format!("{}={}", app::url::encode(k), app::url::encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn json(&self, endpoint: &str, args: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .json(&args)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// p50 and p95 of `n` sequential calls.
    pub async fn timed(&self, what: &str, n: usize, endpoint: &str, args: &[(&str, &str)]) {
        let mut times = Vec::with_capacity(n);
        let mut rows = 0;
        for _ in 0..n {
            let started = Instant::now();
            let (status, body) = self.form(endpoint, args).await;
            times.push(started.elapsed());
            assert_eq!(status, 200, "{what}: {body}");
            rows = body["items"].as_array().map_or(0, |a| a.len());
        }
        times.sort();
        println!(
            "| {what} | {} | {} | {rows} |",
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95))
        );
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
