//! Who may launch the toolkit's products: the portfolio's principals, behind a trait. The
//! real service is `aws-sdk-servicecatalog`. moto serves no portfolio principals, so tests use
//! the labelled in-memory stand-in below.

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{ToolkitError, PORTFOLIO_NAME};

#[async_trait]
pub trait Portfolios: Send + Sync {
    /// The id of the toolkit portfolio ([`PORTFOLIO_NAME`]).
    async fn toolkit_portfolio(&self) -> Result<String, ToolkitError>;
    /// Lets `role_arn` launch the portfolio's products (repeatable).
    async fn share(&self, portfolio: &str, role_arn: &str) -> Result<(), ToolkitError>;
    /// Takes that away (a principal already gone is not an error).
    async fn unshare(&self, portfolio: &str, role_arn: &str) -> Result<(), ToolkitError>;
}

/// The service itself.
pub struct ServiceCatalog {
    pub client: aws_sdk_servicecatalog::Client,
}

#[async_trait]
impl Portfolios for ServiceCatalog {
    async fn toolkit_portfolio(&self) -> Result<String, ToolkitError> {
        let mut token = None;
        loop {
            let page = self
                .client
                .list_portfolios()
                .set_page_token(token)
                .send()
                .await
                .map_err(|e| ToolkitError::aws("servicecatalog:ListPortfolios", &e))?;
            if let Some(p) = page
                .portfolio_details()
                .iter()
                .find(|p| p.display_name() == Some(PORTFOLIO_NAME))
            {
                return p.id().map(str::to_owned).ok_or_else(|| ToolkitError::Aws {
                    call: "servicecatalog:ListPortfolios".into(),
                    message: "a portfolio without an id".into(),
                });
            }
            token = page.next_page_token().map(str::to_owned);
            if token.is_none() {
                return Err(ToolkitError::Input(format!(
                    "no Service Catalog portfolio \"{PORTFOLIO_NAME}\" in this account: deploy sam/toolkit.yaml"
                )));
            }
        }
    }

    async fn share(&self, portfolio: &str, role_arn: &str) -> Result<(), ToolkitError> {
        self.client
            .associate_principal_with_portfolio()
            .portfolio_id(portfolio)
            .principal_arn(role_arn)
            .principal_type(aws_sdk_servicecatalog::types::PrincipalType::Iam)
            .send()
            .await
            .map_err(|e| ToolkitError::aws("servicecatalog:AssociatePrincipalWithPortfolio", &e))?;
        Ok(())
    }

    async fn unshare(&self, portfolio: &str, role_arn: &str) -> Result<(), ToolkitError> {
        match self
            .client
            .disassociate_principal_from_portfolio()
            .portfolio_id(portfolio)
            .principal_arn(role_arn)
            .principal_type(aws_sdk_servicecatalog::types::PrincipalType::Iam)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(ToolkitError::aws(
                "servicecatalog:DisassociatePrincipalFromPortfolio",
                &e,
            )),
        }
    }
}

/// A labelled in-memory stand-in for Service Catalog's portfolio principals (moto does not
/// serve them): one portfolio, when `id` is set, and the principals shared with it.
#[derive(Default)]
pub struct InMemoryPortfolios {
    pub id: Option<String>,
    pub principals: Mutex<BTreeSet<String>>,
}

#[async_trait]
impl Portfolios for InMemoryPortfolios {
    async fn toolkit_portfolio(&self) -> Result<String, ToolkitError> {
        self.id.clone().ok_or_else(|| {
            ToolkitError::Input(format!(
                "no Service Catalog portfolio \"{PORTFOLIO_NAME}\" in this account: deploy sam/toolkit.yaml"
            ))
        })
    }
    async fn share(&self, _portfolio: &str, role_arn: &str) -> Result<(), ToolkitError> {
        self.principals
            .lock()
            .expect("principals")
            .insert(role_arn.to_owned());
        Ok(())
    }
    async fn unshare(&self, _portfolio: &str, role_arn: &str) -> Result<(), ToolkitError> {
        self.principals.lock().expect("principals").remove(role_arn);
        Ok(())
    }
}
