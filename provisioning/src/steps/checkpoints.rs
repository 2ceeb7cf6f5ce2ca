//! Named points between a step's changes where tests intervene: fail right after one (a
//! retry must converge), or run another operation there (a grant and a revoke of one
//! environment interleaved at every boundary). Production passes [`Checkpoints::none`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use super::StepError;

type Intervention<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

#[derive(Default)]
pub struct Checkpoints<'a> {
    fail_after: Option<&'static str>,
    run_at: Option<(&'static str, Mutex<Option<Intervention<'a>>>)>,
}

impl<'a> Checkpoints<'a> {
    pub fn none() -> Self {
        Self::default()
    }

    /// The step fails with [`StepError::Injected`] right after `point`.
    pub fn fail_after(point: &'static str) -> Self {
        Checkpoints {
            fail_after: Some(point),
            run_at: None,
        }
    }

    /// `run` is awaited (once) when the step reaches `point`, then the step goes on.
    pub fn run_at(point: &'static str, run: impl Future<Output = ()> + Send + 'a) -> Self {
        Checkpoints {
            fail_after: None,
            run_at: Some((point, Mutex::new(Some(Box::pin(run))))),
        }
    }

    pub(crate) async fn reach(&self, here: &'static str) -> Result<(), StepError> {
        if let Some((point, run)) = &self.run_at {
            if *point == here {
                let run = run.lock().map(|mut r| r.take()).unwrap_or(None);
                if let Some(run) = run {
                    run.await;
                }
            }
        }
        match self.fail_after {
            Some(f) if f == here => Err(StepError::Injected(here)),
            _ => Ok(()),
        }
    }
}
