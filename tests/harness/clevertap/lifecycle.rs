//! Starting and dropping the fake inside busy async code.

use std::time::Duration;

use futures::FutureExt;
use qc_harness::FakeCleverTap;

/// Regression: wiremock's `MockServer` drop blocks on a tokio lock; in a task whose co-operative
/// budget is spent that used to spin forever (seen as a hung `qc-harness run` under load).
#[test]
fn dropping_the_fake_in_a_task_with_a_spent_budget_returns() {
    let (done, finished) = std::sync::mpsc::channel();
    // Its own thread and runtime: a regression spins that thread, and the test still fails in time.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let task = tokio::spawn(async {
                let fake = FakeCleverTap::start().await;
                for _ in 0..1000 {
                    if tokio::task::consume_budget().now_or_never().is_none() {
                        break; // the budget is spent and the task has not yielded
                    }
                }
                drop(fake);
            });
            let _ = done.send(task.await.is_ok());
        });
    });
    let outcome = finished.recv_timeout(Duration::from_secs(20));
    assert_eq!(outcome, Ok(true), "dropping the fake did not return within 20 s");
}

#[tokio::test]
async fn the_port_is_released_after_the_fake_is_dropped() {
    let fake = FakeCleverTap::start().await;
    let addr = fake.address();
    drop(fake);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpListener::bind(addr).is_err() {
        assert!(tokio::time::Instant::now() < deadline, "{addr} still bound 10 s after the drop");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
