//! The POS listing.

use super::{lock, Faults};
use crate::domain::DataType;
use crate::ports::{PortError, PosSource, PullWindow, SourcePage};
use crate::ErrorClass;
use std::collections::HashMap;
use std::sync::Mutex;

/// One `page` call the source answered or refused.
#[derive(Debug, Clone, PartialEq)]
pub struct PageCall {
    pub data_type: DataType,
    pub cursor: Option<String>,
    pub window: PullWindow,
}

/// A POS that serves the pages it was given, per data type; page `i + 1`'s
/// cursor is `page-{i+1}`. With a token set, any other token is refused
/// (AUTH_ERROR, as a 401 is).
#[derive(Debug, Default)]
pub struct FakePosSource {
    pages: Mutex<HashMap<DataType, Vec<Vec<serde_json::Value>>>>,
    token: Option<String>,
    calls: Mutex<Vec<PageCall>>,
    pub faults: Faults,
}

impl FakePosSource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuses any token but this one.
    pub fn with_token(token: &str) -> Self {
        Self {
            token: Some(token.to_owned()),
            ..Self::default()
        }
    }

    pub fn serve(&self, data_type: DataType, pages: Vec<Vec<serde_json::Value>>) {
        lock(&self.pages).insert(data_type, pages);
    }

    pub fn calls(&self) -> Vec<PageCall> {
        lock(&self.calls).clone()
    }
}

impl PosSource for FakePosSource {
    async fn page(
        &self,
        token: &str,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        lock(&self.calls).push(PageCall {
            data_type,
            cursor: cursor.map(str::to_owned),
            window: window.clone(),
        });
        self.faults.check("Square", "List")?;
        if self.token.as_deref().is_some_and(|t| t != token) {
            return Err(PortError::new(
                "Square",
                "List",
                ErrorClass::AuthError,
                "HTTP 401: UNAUTHORIZED",
            ));
        }
        let index = match cursor {
            None => 0,
            Some(c) => c
                .strip_prefix("page-")
                .and_then(|i| i.parse::<usize>().ok())
                .ok_or_else(|| {
                    PortError::new(
                        "Square",
                        "List",
                        ErrorClass::ValidationError,
                        format!("HTTP 400: invalid cursor {c:?}"),
                    )
                })?,
        };
        let pages = lock(&self.pages);
        let served = pages.get(&data_type).map(Vec::as_slice).unwrap_or_default();
        let objects = served.get(index).cloned().unwrap_or_default();
        let cursor = (index + 1 < served.len()).then(|| format!("page-{}", index + 1));
        Ok(SourcePage { objects, cursor })
    }
}
