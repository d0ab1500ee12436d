//! The daily sync's POS source: Square's hand-written client beside the
//! connector engine that runs every manifest, behind one `PosSource`.

use super::connector_http::{ConnectorEngine, Pull};
use super::square::SquareClient;
use synchub_connectors::connector;
use synchub_core::domain::DataType;
use synchub_core::ports::{ConnectorRequest, PortError, PosSource, PullWindow, SourcePage};
use synchub_core::ErrorClass;

pub struct PosClients {
    pub square: SquareClient,
    pub connectors: ConnectorEngine,
}

impl PosSource for PosClients {
    async fn page(
        &self,
        token: &str,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        self.square.page(token, data_type, window, cursor).await
    }

    async fn connector_page(
        &self,
        request: &ConnectorRequest<'_>,
        data_type: DataType,
        window: &PullWindow,
        cursor: Option<&str>,
    ) -> Result<SourcePage, PortError> {
        let manifest = connector(&request.pos.connector).map_err(|why| {
            PortError::new(
                "connectors",
                data_type.as_str(),
                ErrorClass::ValidationError,
                why,
            )
        })?;
        let pull = Pull {
            manifest,
            environment: &request.pos.environment,
            settings: &request.pos.settings,
            secrets: request.secrets,
            tenant: request.tenant.as_str(),
        };
        let page = self
            .connectors
            .page(&pull, data_type, window, cursor)
            .await?;
        Ok(SourcePage {
            objects: page.records,
            cursor: page.cursor,
        })
    }
}
