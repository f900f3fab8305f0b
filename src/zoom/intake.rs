//! The webhook receiver's way into the store: group commit of the raw events, and processing
//! off the request path.
//!
//! One writer task takes every event waiting for it (up to [`MAX_INSERT_BATCH`]), inserts them
//! in ONE transaction ([`Store::record_zoom_events`]) and only then answers each waiting
//! request: an acknowledgement is always a committed row. No timer holds a batch back: while
//! one commit runs, the next requests queue, so batches grow with the load and a lone event is
//! written at once. The stored events go on to one worker task, in id order, which applies them
//! in batches ([`events::process_batch`]); it first works off whatever an earlier run stored
//! and did not process (a crash between the acknowledgement and processing), and sweeps the
//! store again whenever its queue overflowed. The retry step (`http::webhook::retry_loop`)
//! still covers anything left.
//!
//! Never answers a request before its event is committed; never drops a stored event (at worst
//! it waits in the store for a sweep). The tasks read the clock only through the injected
//! clock, and end when the last [`Intake`] handle is dropped. Logs no bodies.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use super::events::{self, Work};
use super::webhook::ParseError;
use crate::store::{NewZoomEvent, Store, StoreError, ZoomAction, ZoomEventInsert};

/// The clock the sweeps read (the receiver's own `now` is used for everything it hands in).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The most events one insert transaction takes.
pub const MAX_INSERT_BATCH: usize = 512;
/// The most events one processing transaction takes. A batch is a handful of statements
/// whatever its size (`Store::apply_zoom_events`), so the insert waiting behind it (SQLite has
/// one writer) still waits a few milliseconds at most; 256 measured 1.13–1.41× the rate of 64
/// (BENCHMARKS.md, "Zoom webhook receiver").
pub const PROCESS_BATCH: usize = 256;
/// Requests that may wait for the writer; more wait to be queued (within their deadline).
const QUEUE: usize = 8192;
/// Stored events that may wait for the worker; beyond that they wait in the store for a sweep.
const WORK_QUEUE: usize = 65_536;

/// What became of one event handed to [`Intake::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Committed with this id (processing follows).
    Stored(i64),
    /// Stored before (a retry): nothing written.
    Duplicate,
    /// The database is unavailable: nothing stored, Zoom should retry.
    Unavailable(String),
    /// Could not be stored for a reason a retry would not fix.
    Failed(String),
    /// The intake is shutting down (or its writer died): nothing stored.
    Stopped,
}

struct Pending {
    event: NewZoomEvent,
    action: Result<ZoomAction, ParseError>,
    now: DateTime<Utc>,
    answer: oneshot::Sender<Recorded>,
}

struct Queued {
    work: Work,
    now: DateTime<Utc>,
}

struct Shared {
    /// The highest id acknowledged as stored.
    stored_through: AtomicI64,
    /// The highest id the worker has handled (processed, or failed and recorded); -1 until
    /// its first sweep (what earlier runs left) is done.
    processed_through: watch::Sender<i64>,
    /// The worker's queue overflowed: some stored events are only in the store.
    overflowed: AtomicBool,
    /// Wakes the worker for a sweep.
    poke: Notify,
}

/// A running intake: the writer and the worker, which live as long as a handle does.
pub struct Intake {
    queue: mpsc::Sender<Pending>,
    shared: Arc<Shared>,
}

impl Intake {
    /// Starts the writer and the worker (inside a Tokio runtime).
    pub fn start(store: Arc<dyn Store>, clock: Clock) -> Intake {
        let (queue, incoming) = mpsc::channel(QUEUE);
        let (work_tx, work_rx) = mpsc::channel(WORK_QUEUE);
        let shared = Arc::new(Shared {
            stored_through: AtomicI64::new(0),
            processed_through: watch::Sender::new(-1),
            overflowed: AtomicBool::new(false),
            poke: Notify::new(),
        });
        tokio::spawn(writer(store.clone(), incoming, work_tx, shared.clone()));
        tokio::spawn(worker(store, work_rx, shared.clone(), clock));
        Intake { queue, shared }
    }

    /// Stores `event` in the next group commit and waits for the commit. `action` is what its
    /// body asks (handed on to the worker, so the body is not read again). Callers bound the
    /// wait with their own deadline: an event still queued then is stored later all the same.
    pub async fn record(
        &self,
        event: NewZoomEvent,
        action: Result<ZoomAction, ParseError>,
        now: DateTime<Utc>,
    ) -> Recorded {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            event,
            action,
            now,
            answer,
        };
        if self.queue.send(pending).await.is_err() {
            return Recorded::Stopped;
        }
        answered.await.unwrap_or(Recorded::Stopped)
    }

    /// Waits until the worker's first sweep is done and every event acknowledged so far has
    /// been handled (processed, or its failure recorded; a sweep that stopped at a failure
    /// leaves the rest to the retry step). For tests and the demo, which read attendance
    /// after posting.
    pub async fn settled(&self) {
        let target = self.shared.stored_through.load(Ordering::SeqCst);
        let mut seen = self.shared.processed_through.subscribe();
        // The sender lives in `shared`, which this handle keeps alive: this cannot fail.
        let _ = seen.wait_for(|&through| through >= target).await;
    }
}

/// The intake of an `AppState`, started on first use and shared by its clones.
#[derive(Clone, Default)]
pub struct IntakeSlot(Arc<OnceLock<Intake>>);

impl IntakeSlot {
    /// The intake, started now with `start()`'s store and clock if it is not running yet.
    pub fn get_or_start(&self, start: impl FnOnce() -> (Arc<dyn Store>, Clock)) -> &Intake {
        self.0.get_or_init(|| {
            let (store, clock) = start();
            Intake::start(store, clock)
        })
    }

    /// [`Intake::settled`] if the intake was started; at once otherwise.
    pub async fn settled(&self) {
        if let Some(intake) = self.0.get() {
            intake.settled().await;
        }
    }
}

/// The group-commit writer: until every handle is gone.
async fn writer(
    store: Arc<dyn Store>,
    mut incoming: mpsc::Receiver<Pending>,
    work: mpsc::Sender<Queued>,
    shared: Arc<Shared>,
) {
    let mut batch = Vec::with_capacity(MAX_INSERT_BATCH);
    while incoming.recv_many(&mut batch, MAX_INSERT_BATCH).await > 0 {
        let now = batch
            .iter()
            .map(|p| p.now)
            .max()
            .expect("a batch is never empty");
        let events: Vec<NewZoomEvent> = batch.iter().map(|p| p.event.clone()).collect();
        let results = match store.record_zoom_events(&events, now).await {
            Ok(r) => r.into_iter().map(Ok).collect(),
            Err(StoreError::Unavailable(e)) => (0..events.len())
                .map(|_| Err(StoreError::Unavailable(e.clone())))
                .collect(),
            Err(e) if events.len() == 1 => vec![Err(e)],
            Err(e) => {
                // Not the database being away: perhaps one event the store refuses. Alone,
                // each gets its own answer and the others are stored.
                tracing::debug!(error = %e, events = events.len(), "group insert failed: one at a time");
                let mut one_by_one = Vec::with_capacity(events.len());
                for event in &events {
                    one_by_one.push(
                        store
                            .record_zoom_events(std::slice::from_ref(event), now)
                            .await
                            .and_then(|mut r| {
                                r.pop().ok_or_else(|| {
                                    StoreError::Corrupt("no answer for a stored event".into())
                                })
                            }),
                    );
                }
                one_by_one
            }
        };
        for (pending, result) in batch.drain(..).zip(results) {
            let answer = match result {
                Ok(ZoomEventInsert::Inserted(id)) => {
                    let queued = Queued {
                        work: Work {
                            id,
                            action: pending.action,
                            attempts_before: 0,
                        },
                        now: pending.now,
                    };
                    if work.try_send(queued).is_err() {
                        // Full (or the worker is gone): the event waits in the store.
                        shared.overflowed.store(true, Ordering::SeqCst);
                        shared.poke.notify_one();
                    }
                    shared.stored_through.fetch_max(id, Ordering::SeqCst);
                    Recorded::Stored(id)
                }
                Ok(ZoomEventInsert::Duplicate) => Recorded::Duplicate,
                Err(StoreError::Unavailable(e)) => Recorded::Unavailable(e),
                Err(e) => Recorded::Failed(e.to_string()),
            };
            // The request may have given up waiting (its deadline): the row stands anyway.
            let _ = pending.answer.send(answer);
        }
    }
}

/// The processing worker: works off what earlier runs left, then the writer's events in
/// batches, sweeping the store after an overflow.
async fn worker(
    store: Arc<dyn Store>,
    mut work: mpsc::Receiver<Queued>,
    shared: Arc<Shared>,
    clock: Clock,
) {
    sweep(store.as_ref(), &shared, clock()).await;
    let mut batch = Vec::with_capacity(PROCESS_BATCH);
    loop {
        tokio::select! {
            n = work.recv_many(&mut batch, PROCESS_BATCH) => {
                if n == 0 {
                    return;
                }
            }
            _ = shared.poke.notified() => {}
        }
        if !batch.is_empty() {
            let now = batch.iter().map(|q| q.now).max().expect("not empty");
            let through = batch.iter().map(|q| q.work.id).max().expect("not empty");
            let items = batch.drain(..).map(|q| q.work).collect();
            events::process_batch(store.as_ref(), items, now).await;
            shared
                .processed_through
                .send_modify(|t| *t = (*t).max(through));
        }
        if shared.overflowed.swap(false, Ordering::SeqCst) {
            sweep(store.as_ref(), &shared, clock()).await;
        }
    }
}

/// Processes everything stored at or before `now` and not processed yet.
async fn sweep(store: &dyn Store, shared: &Shared, now: DateTime<Utc>) {
    // Everything acknowledged before the sweep started is in the store by now.
    let through = shared.stored_through.load(Ordering::SeqCst);
    match events::drain_pending(store, now).await {
        Ok(r) => {
            if r.processed + r.failed > 0 {
                tracing::info!(
                    processed = r.processed,
                    failed = r.failed,
                    "stored Zoom events worked off"
                );
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read stored Zoom events (the retry step will)")
        }
    }
    shared
        .processed_through
        .send_modify(|t| *t = (*t).max(through));
}
