//! Stopping a reader's work from another thread: the server interrupts a query that ran past
//! its time budget or whose client went away. An [`Interrupter`] interrupts every statement
//! the reader runs at that moment (its own connection and the helpers of a side-by-side run)
//! and refuses to start another, until the reader is handed out again ([`Reader::rearm`]).
//! An interrupter belongs to one arming: once the reader is rearmed for the next request, a
//! late interrupt from the previous one does nothing.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use duckdb::{Connection, InterruptHandle};

use crate::error::StoreError;
use crate::reader::Reader;

/// What a reader's interrupter reaches: a flag no new statement starts past, and the engine's
/// handle on each connection the reader runs statements on.
#[derive(Default)]
pub(crate) struct Interrupts {
    stopped: AtomicBool,
    /// Bumped by every rearm (under the `handles` lock, as interrupts are made).
    arming: AtomicU64,
    handles: Mutex<Vec<Arc<InterruptHandle>>>,
}

impl Interrupts {
    /// Interrupts for a reader over `conn`.
    pub(crate) fn over(conn: &Connection) -> Arc<Interrupts> {
        let interrupts = Interrupts::default();
        if let Ok(mut handles) = interrupts.handles.lock() {
            handles.push(conn.interrupt_handle());
        }
        Arc::new(interrupts)
    }

    /// Also interrupts `conn` (a helper connection) until [`Interrupts::forget_helpers`].
    pub(crate) fn add_helper(&self, conn: &Connection) {
        if let Ok(mut handles) = self.handles.lock() {
            handles.push(conn.interrupt_handle());
        }
    }

    /// Forgets the helpers' handles (their connections are gone).
    pub(crate) fn forget_helpers(&self) {
        if let Ok(mut handles) = self.handles.lock() {
            handles.truncate(1);
        }
    }

    /// An error when the reader was interrupted: no statement starts after an interrupt.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.stopped.load(Ordering::Acquire) {
            Err(StoreError::Interrupted)
        } else {
            Ok(())
        }
    }
}

/// Interrupts what a [`Reader`] runs, from any thread, for as long as the reader is not
/// rearmed.
#[derive(Clone)]
pub struct Interrupter {
    interrupts: Arc<Interrupts>,
    arming: u64,
}

impl Interrupter {
    /// Interrupts the statements running now and keeps any other from starting (nothing when
    /// the reader was rearmed for other work since this interrupter was made).
    pub fn interrupt(&self) {
        let Ok(handles) = self.interrupts.handles.lock() else {
            return;
        };
        if self.interrupts.arming.load(Ordering::Acquire) != self.arming {
            return;
        }
        self.interrupts.stopped.store(true, Ordering::Release);
        for handle in handles.iter() {
            handle.interrupt();
        }
    }

    /// Whether the reader was interrupted since it was last armed.
    pub fn interrupted(&self) -> bool {
        self.interrupts.stopped.load(Ordering::Acquire)
    }
}

impl Reader {
    /// A handle that interrupts this reader's current work from another thread.
    pub fn interrupter(&self) -> Interrupter {
        Interrupter {
            interrupts: self.interrupts.clone(),
            arming: self.interrupts.arming.load(Ordering::Acquire),
        }
    }

    /// Makes an interrupted reader usable again (before handing it to the next request);
    /// interrupters made before no longer reach it.
    pub fn rearm(&self) {
        let _handles = self.interrupts.handles.lock();
        self.interrupts.arming.fetch_add(1, Ordering::AcqRel);
        self.interrupts.stopped.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use vitals_query::plan::PlannedSql;

    use crate::Store;

    fn slow() -> PlannedSql {
        PlannedSql {
            sql: "SELECT CAST(count(*) AS VARCHAR), CAST(sum(a.range * b.range) AS DOUBLE) \
                  FROM range(200000) a, range(200000) b"
                .into(),
            params: Vec::new(),
            key_columns: 1,
            agg_columns: 1,
            components: Vec::new(),
        }
    }

    #[test]
    fn an_interrupt_stops_a_running_statement_and_every_later_one_until_rearmed() {
        let store = Store::open_in_memory().unwrap();
        let reader = store.reader().unwrap();
        let interrupter = reader.interrupter();
        let started = Instant::now();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            interrupter.interrupt();
        });
        let plan = slow();
        let answer = reader.run_side_by_side(&[&plan, &plan, &plan]);
        stopper.join().unwrap();
        assert!(answer.is_err(), "an interrupted statement fails");
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the interrupt stopped the statements: {:?}",
            started.elapsed()
        );
        let quick = PlannedSql {
            sql: "SELECT 'a', CAST(1 AS DOUBLE)".into(),
            params: Vec::new(),
            key_columns: 1,
            agg_columns: 1,
            components: Vec::new(),
        };
        assert!(reader.run_planned(&quick).is_err(), "nothing starts after");
        assert!(reader.interrupter().interrupted());
        reader.rearm();
        assert_eq!(reader.run_planned(&quick).unwrap().len(), 1);
    }

    #[test]
    fn a_late_interrupt_from_an_earlier_arming_does_nothing() {
        let store = Store::open_in_memory().unwrap();
        let reader = store.reader().unwrap();
        let earlier = reader.interrupter();
        reader.rearm();
        earlier.interrupt();
        assert!(!reader.interrupter().interrupted());
        let quick = PlannedSql {
            sql: "SELECT 'a', CAST(1 AS DOUBLE)".into(),
            params: Vec::new(),
            key_columns: 1,
            agg_columns: 1,
            components: Vec::new(),
        };
        assert_eq!(reader.run_planned(&quick).unwrap().len(), 1);
    }
}
