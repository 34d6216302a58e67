//! The detection thread of live mode: frames never wait for it.
//!
//! The streaming thread hands a prepared net input to the worker only when
//! the worker is idle, so at most one frame is being analysed and none
//! waits in a queue. The worker publishes each finished analysis; passing
//! frames carry the newest one.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::schedule::{Analysis, FrameStamp};
use crate::detector::{DetectParams, Detector, NetInput};

/// One frame to analyse.
pub struct Job {
    pub input: NetInput,
    pub params: DetectParams,
    pub threads: Option<u32>,
    pub stamp: FrameStamp,
    /// Width and height of the frame.
    pub frame_size: (u32, u32),
    /// Flush generation the frame belongs to; results of an older
    /// generation are dropped.
    pub generation: u64,
}

#[derive(Default)]
struct Slot {
    job: Option<Job>,
    busy: bool,
    stop: bool,
    generation: u64,
    /// Newest finished analysis of the current generation, not yet taken.
    finished: Option<Analysis>,
    /// Net input of the last job, returned for reuse.
    spare: Option<NetInput>,
    error: Option<String>,
}

struct Shared {
    slot: Mutex<Slot>,
    wake: Condvar,
}

/// Called on the worker thread with each finished analysis, before it is
/// published; the element posts its bus message from here.
pub type OnFinished = Box<dyn Fn(&Analysis) + Send>;

/// A running worker thread and its detector.
pub struct Worker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Detector>>,
}

impl Worker {
    /// Starts a thread that owns `detector` until [`Worker::stop`].
    /// `extra_delay` lengthens every analysis (used by tests to emulate a
    /// slow machine).
    pub fn start(
        detector: Detector,
        extra_delay: Duration,
        on_finished: OnFinished,
    ) -> std::io::Result<Worker> {
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            wake: Condvar::new(),
        });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("scrfddetect-worker".to_owned())
            .spawn(move || run(detector, &thread_shared, extra_delay, on_finished))?;
        Ok(Worker {
            shared,
            thread: Some(thread),
        })
    }

    /// Returns whether the worker can take a frame now.
    pub fn is_idle(&self) -> bool {
        let slot = self.shared.slot.lock().unwrap();
        !slot.busy && slot.job.is_none()
    }

    /// Hands `job` to the worker if it is idle and the job belongs to the
    /// current flush generation; otherwise returns it.
    pub fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        let mut slot = self.shared.slot.lock().unwrap();
        if slot.busy || slot.job.is_some() || job.generation != slot.generation {
            return Err(Box::new(job));
        }
        slot.job = Some(job);
        self.shared.wake.notify_all();
        Ok(())
    }

    /// Takes the newest finished analysis, if one arrived since the last
    /// call.
    pub fn take_finished(&self) -> Option<Analysis> {
        self.shared.slot.lock().unwrap().finished.take()
    }

    /// Takes the net input of the last job for reuse.
    pub fn take_spare(&self) -> Option<NetInput> {
        self.shared.slot.lock().unwrap().spare.take()
    }

    /// Takes the error that stopped the worker, if any.
    pub fn take_error(&self) -> Option<String> {
        self.shared.slot.lock().unwrap().error.take()
    }

    /// Drops the pending frame and any result still to come, and returns
    /// the generation new jobs must carry.
    pub fn flush(&self) -> u64 {
        let mut slot = self.shared.slot.lock().unwrap();
        slot.generation += 1;
        slot.job = None;
        slot.finished = None;
        slot.generation
    }

    /// Stops the thread after the frame in progress and returns the
    /// detector, or `None` if the thread panicked.
    pub fn stop(mut self) -> Option<Detector> {
        {
            let mut slot = self.shared.slot.lock().unwrap();
            slot.stop = true;
            slot.job = None;
            self.shared.wake.notify_all();
        }
        self.thread.take().and_then(|thread| thread.join().ok())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.slot.lock().unwrap().stop = true;
            self.shared.wake.notify_all();
            let _ = thread.join();
        }
    }
}

fn run(
    mut detector: Detector,
    shared: &Shared,
    extra_delay: Duration,
    on_finished: OnFinished,
) -> Detector {
    loop {
        let job = {
            let mut slot = shared.slot.lock().unwrap();
            loop {
                if slot.stop {
                    return detector;
                }
                if let Some(job) = slot.job.take() {
                    slot.busy = true;
                    break job;
                }
                slot = shared.wake.wait(slot).unwrap();
            }
        };

        let started = Instant::now();
        if detector.num_threads() != job.threads.unwrap_or_else(crate::ncnn::default_num_threads) {
            detector.set_num_threads(job.threads);
        }
        // A panic in inference must not take the pipeline down silently:
        // it becomes an error the streaming thread reports.
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| detector.infer(&job.input, &job.params)));
        if !extra_delay.is_zero() {
            std::thread::sleep(extra_delay);
        }

        let outcome = match result {
            Ok(Ok(faces)) => Ok(Analysis {
                faces,
                stamp: job.stamp,
                frame_size: job.frame_size,
                duration: started.elapsed(),
            }),
            Ok(Err(err)) => Err(format!("face detection failed: {err}")),
            Err(_) => Err("face detection panicked".to_owned()),
        };

        // The callback runs without the lock; a flush meanwhile only costs
        // one bus message about a frame that was flushed.
        let current = job.generation == shared.slot.lock().unwrap().generation;
        if let (true, Ok(analysis)) = (current, &outcome) {
            on_finished(analysis);
        }
        let mut slot = shared.slot.lock().unwrap();
        slot.busy = false;
        slot.spare = Some(job.input);
        match outcome {
            Ok(analysis) if job.generation == slot.generation => slot.finished = Some(analysis),
            Ok(_) => {}
            Err(message) => slot.error = Some(message),
        }
    }
}
