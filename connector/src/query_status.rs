//! Whether the Athena query a split belongs to is still running. A split whose query has
//! finished (a LIMIT satisfied by other splits) or been cancelled stops reading, as the
//! official connectors do (`QueryStatusChecker`): the state is polled in the background at an
//! interval, never per batch, and the read only looks at a flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinHandle;

/// How often a running read asks for its query's state (the official connectors' order).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// A query's state as Athena reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryState {
    /// QUEUED or RUNNING: keep reading.
    Running,
    /// SUCCEEDED, FAILED or CANCELLED: nobody reads the rest.
    Finished(String),
}

/// Where query states come from.
#[async_trait]
pub trait QueryStates: Send + Sync {
    async fn state(&self, query_id: &str) -> Result<QueryState, String>;
}

/// `athena:GetQueryExecution`.
pub struct AthenaQueryStates {
    client: aws_sdk_athena::Client,
}

impl AthenaQueryStates {
    pub fn new(config: &aws_config::SdkConfig) -> AthenaQueryStates {
        AthenaQueryStates {
            client: aws_sdk_athena::Client::new(config),
        }
    }
}

#[async_trait]
impl QueryStates for AthenaQueryStates {
    async fn state(&self, query_id: &str) -> Result<QueryState, String> {
        let out = self
            .client
            .get_query_execution()
            .query_execution_id(query_id)
            .send()
            .await
            .map_err(|e| aws_sdk_athena::error::DisplayErrorContext(e).to_string())?;
        let state = out
            .query_execution()
            .and_then(|q| q.status())
            .and_then(|s| s.state());
        use aws_sdk_athena::types::QueryExecutionState as S;
        Ok(match state {
            Some(S::Succeeded) | Some(S::Failed) | Some(S::Cancelled) => {
                QueryState::Finished(state.map(|s| s.as_str().to_owned()).unwrap_or_default())
            }
            _ => QueryState::Running,
        })
    }
}

/// Polls one query's state while a split is read; dropped (or [`Watch::finished`] read)
/// when the read ends.
pub struct Watch {
    finished: Arc<AtomicBool>,
    state: Arc<std::sync::Mutex<Option<String>>>,
    task: JoinHandle<()>,
}

impl Watch {
    /// Starts polling `query_id` every `interval` (the first poll after one interval: short
    /// reads never call Athena). An error (a query Athena does not know, no permission) is
    /// logged once and reading goes on, as if the query were running.
    pub fn start(states: Arc<dyn QueryStates>, query_id: String, interval: Duration) -> Watch {
        let finished = Arc::new(AtomicBool::new(false));
        let state = Arc::new(std::sync::Mutex::new(None));
        let (flag, slot) = (finished.clone(), state.clone());
        let task = tokio::spawn(async move {
            let mut warned = false;
            loop {
                tokio::time::sleep(interval).await;
                match states.state(&query_id).await {
                    Ok(QueryState::Running) => {}
                    Ok(QueryState::Finished(s)) => {
                        if let Ok(mut slot) = slot.lock() {
                            *slot = Some(s);
                        }
                        flag.store(true, Ordering::Release);
                        return;
                    }
                    Err(e) if !warned => {
                        warned = true;
                        tracing::warn!(query_id, error = %e, "cannot read the query's state; reading on");
                    }
                    Err(_) => {}
                }
            }
        });
        Watch {
            finished,
            state,
            task,
        }
    }

    /// The query's final state, once a poll has seen it finished.
    pub fn finished(&self) -> Option<String> {
        if self.finished.load(Ordering::Acquire) {
            self.state.lock().ok().and_then(|s| s.clone())
        } else {
            None
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    struct Scripted {
        calls: AtomicUsize,
        finished_after: usize,
    }

    #[async_trait]
    impl QueryStates for Scripted {
        async fn state(&self, _: &str) -> Result<QueryState, String> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if n == 1 {
                return Err("unknown query".into());
            }
            Ok(if n >= self.finished_after {
                QueryState::Finished("CANCELLED".into())
            } else {
                QueryState::Running
            })
        }
    }

    #[tokio::test]
    async fn polls_at_the_interval_reads_on_after_errors_and_stops_when_finished() {
        let states = Arc::new(Scripted {
            calls: AtomicUsize::new(0),
            finished_after: 3,
        });
        let interval = Duration::from_millis(200);
        let watch = Watch::start(states.clone(), "q1".into(), interval);
        tokio::time::sleep(interval / 2).await;
        assert_eq!(
            states.calls.load(Ordering::SeqCst),
            0,
            "no poll before one interval"
        );
        // Poll 1 fails (reading goes on), poll 2 says running, poll 3 cancelled.
        let mut waited = Duration::ZERO;
        while watch.finished().is_none() && waited < Duration::from_secs(10) {
            tokio::time::sleep(interval / 4).await;
            waited += interval / 4;
        }
        assert_eq!(watch.finished().as_deref(), Some("CANCELLED"));
        assert_eq!(states.calls.load(Ordering::SeqCst), 3);
        tokio::time::sleep(interval * 3).await;
        assert_eq!(
            states.calls.load(Ordering::SeqCst),
            3,
            "polling stops once finished"
        );
    }
}
