//! `PostgresStore` through the layer while the server is out of reach:
//! the store's pool connects through a proxy the test cuts and mends.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::lookup_host;
use tower_cookie_sessions::store::PostgresStore;
use tower_cookie_sessions::SessionLayer;

use crate::common::map_app::suite_key;
use crate::common::outage::{Visitors, RECOVERY};
use crate::common::proxy::Proxy;
use crate::common::sql::{database_url, postgres_pool_for_test, run_then_tear_down, unique_name};
use crate::common::{counter_app, Counter};

/// How long the server stays out of reach.
const DOWN: Duration = Duration::from_secs(3);

/// The layer's store timeout here.
const TIMEOUT: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_answers_503_at_once_loses_no_write_and_is_used_again() {
    let test = "an_unreachable_server_answers_503_at_once_loses_no_write_and_is_used_again";
    let Some(url) = database_url() else {
        return;
    };
    let options = PgConnectOptions::from_str(&url).expect("DATABASE_URL");
    let target = lookup_host((options.get_host(), options.get_port()))
        .await
        .expect("resolve DATABASE_URL's host")
        .next()
        .expect("an address");
    let mut proxy = Proxy::start(target).await;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        // sqlx's default, 30 s, which the layer's timeout cuts short.
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options.host("127.0.0.1").port(proxy.port()))
        .await
        .expect("connect through the proxy");
    let table = unique_name("tcs_test");
    let store = PostgresStore::new(pool)
        .with_table(&table)
        .expect("a valid table name");
    store.migrate().await.expect("migrate");
    // The table goes through a pool of its own, whatever the proxy's state.
    let direct = postgres_pool_for_test().await.expect("DATABASE_URL is set");
    let direct = PostgresStore::new(direct)
        .with_table(&table)
        .expect("valid");
    let layer = SessionLayer::<Counter>::store_builder(suite_key(), store)
        .timeout(TIMEOUT)
        .build()
        .expect("layer");

    run_then_tear_down(direct, |_| async move {
        let app = counter_app(layer);
        let visitors = Visitors::start(&app, 8).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let down = Instant::now();
        proxy.cut();
        tokio::time::sleep(DOWN).await;
        proxy.mend().await;
        let back = Instant::now();
        tokio::time::sleep(RECOVERY + Duration::from_millis(500)).await;
        let report = visitors.finish(test, down, back).await;

        report.assert_fast_while_down_and_back_in_time(DOWN);
    })
    .await;
}
