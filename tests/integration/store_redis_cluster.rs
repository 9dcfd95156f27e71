//! `RedisStore` on a three-node Redis Cluster it starts itself runs the
//! store conformance suite: every script touches one key, so none is
//! refused as cross-slot, and owner indexes work across slots.

use std::time::{Duration, SystemTime};

use crate::common::map_app::SuiteStore;
use crate::common::redis_server::{cluster_keys_under_prefix, unique_prefix, RedisCluster};
use redis::cluster_async::ClusterConnection;
use tower_cookie_sessions::store::{OwnerIndex, Record, RecordKey, RedisStore, SessionStore};

/// A store on the binary's shared cluster, under a prefix of its own;
/// `None` when `redis-server` is missing outside CI.
async fn cluster_store(test: &str) -> Option<RedisStore<ClusterConnection>> {
    // Starting the cluster blocks for a second or two, once per binary.
    let test = test.to_owned();
    let cluster = tokio::task::spawn_blocking(move || RedisCluster::shared(&test))
        .await
        .expect("cluster start")?;
    let store = RedisStore::connect_cluster(cluster.urls())
        .await
        .expect("connect to the test cluster");
    Some(store.with_prefix(unique_prefix()))
}

tower_cookie_sessions::store_conformance!(
    cluster_store("conformance"),
    owner_index,
    tear_down = crate::common::map_app::tear_down,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_owners_sessions_spread_over_the_nodes_are_all_deleted() {
    let test = "one_owners_sessions_spread_over_the_nodes_are_all_deleted";
    let Some(store) = cluster_store(test).await else {
        return;
    };
    let cluster = RedisCluster::shared(test).expect("started above");
    let expires = SystemTime::now() + Duration::from_secs(60);
    for i in 0..40u8 {
        let record = Record::new(vec![i], expires).with_owner(Some("ada".into()));
        assert!(store
            .create(&RecordKey::for_session_id(&[i]), &record)
            .await
            .expect("create"));
    }
    let per_node = cluster.keys_per_node(store.prefix());
    assert_eq!(
        per_node.iter().sum::<usize>(),
        41,
        "40 records and one index"
    );
    assert!(
        per_node.iter().all(|&keys| keys > 0),
        "keys on every node: {per_node:?}"
    );

    assert_eq!(store.delete_by_owner("ada").await.expect("delete"), 40);
    let left = cluster_keys_under_prefix(&store).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    store.tear_down().await;
}
