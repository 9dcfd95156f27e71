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

/// `store::connect` with a `redis+cluster://` URL naming the test
/// cluster's nodes reaches the cluster: a record written through the store
/// it returns lands on the cluster's nodes, reads back, and is found by
/// its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_takes_a_cluster_url_naming_every_node() {
    let test = "connect_takes_a_cluster_url_naming_every_node";
    let started = tokio::task::spawn_blocking(move || RedisCluster::shared(test))
        .await
        .expect("cluster start");
    let Some(cluster) = started else {
        return;
    };
    let nodes: Vec<String> = cluster
        .ports()
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let url = format!("redis+cluster://{}", nodes.join(","));
    let store = tower_cookie_sessions::store::connect(&url)
        .await
        .expect("a cluster URL connects");
    let key = RecordKey::for_session_id(b"connect through a cluster URL");
    let record = Record::new(b"x".to_vec(), SystemTime::now() + Duration::from_secs(60))
        .with_owner(Some("connect-cluster-owner".into()));
    let before: usize = cluster.keys_per_node("tcs:").iter().sum();
    assert!(store.create(&key, &record).await.expect("create"));
    let loaded = store.load(&key).await.expect("load").expect("stored");
    assert_eq!(loaded.data, b"x");
    let after: usize = cluster.keys_per_node("tcs:").iter().sum();
    assert_eq!(
        after,
        before + 2,
        "the record and its owner index, on the cluster"
    );
    assert_eq!(
        store
            .delete_by_owner("connect-cluster-owner")
            .await
            .expect("delete"),
        1
    );
}
