"""A real two-node Ray cluster on this machine (two raylets): episodes spread and land once."""

from __future__ import annotations

from collections import Counter

import pytest

from sandgym.rollouts import (
    SANDBOX_RESOURCE,
    NoSandboxNodesError,
    RolloutConfig,
    collect,
    load_trajectories,
)
from tests.rollouts.conftest import stored_ids


@pytest.fixture
def two_nodes():
    """Head and one more node, each with one CPU and one sandbox slot."""
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "resources": {SANDBOX_RESOURCE: 1}, "include_dashboard": False,
        "object_store_memory": 100 * 1024**2})
    cluster.add_node(num_cpus=1, resources={SANDBOX_RESOURCE: 1},
                     object_store_memory=100 * 1024**2)
    cluster.wait_for_nodes()
    try:
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_collect_spreads_over_two_nodes_and_writes_each_episode_once(two_nodes, tmp_path):
    import ray

    ray.init(address=two_nodes.address)
    node_ids = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    ray.shutdown()
    assert len(node_ids) == 2
    out = tmp_path / "cluster.parquet"
    result = collect("sandgym/HumanEval-v0", "canonical", limit=6, samples_per_task=2,
                     num_workers=2, address=two_nodes.address, out=out,
                     config=RolloutConfig(batch_size=2), progress=False)
    assert not ray.is_initialized(), "collect disconnects from a cluster it joined"
    ids = stored_ids(out)
    assert len(ids) == 12 and Counter(ids).most_common(1)[0][1] == 1
    assert result.episodes == 12 and result.pass_rate == 1.0
    nodes = set(load_trajectories(out)["node_id"])
    assert nodes == node_ids, "both raylets ran a worker"


def test_cluster_without_sandbox_nodes_is_refused(tmp_path):
    import ray

    ray.init(num_cpus=1, include_dashboard=False, object_store_memory=100 * 1024**2)
    try:
        with pytest.raises(NoSandboxNodesError, match="ray start .* --resources="):
            collect("sandgym/HumanEval-v0", "canonical", limit=1, out=tmp_path / "x.parquet",
                    progress=False)
    finally:
        ray.shutdown()
