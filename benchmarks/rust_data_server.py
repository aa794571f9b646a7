"""TensorBoard's Rust data server, timed from launch until it serves every scalar point: shared by the benchmarks."""

import os
import subprocess
import tempfile
import time


def serve_all_scalars(logdir, expected_points, points_per_series, deadline=900):
    """Launches the data server over `logdir` and polls its gRPC `ReadScalars` until every point is served.

    Args:
        logdir: the log folder.
        expected_points: the scalar points the folder holds.
        points_per_series: the most points to ask for per series (at least
            the epochs logged, so that nothing is downsampled away).
        deadline: seconds to give up after.

    Returns:
        `(seconds from launch, seconds from listening, points served)`.
    """
    import grpc
    import tensorboard_data_server
    from tensorboard.data.proto import data_provider_pb2, data_provider_pb2_grpc

    with tempfile.TemporaryDirectory() as scratch:
        port_file = os.path.join(scratch, "port")
        start = time.perf_counter()
        server = subprocess.Popen(
            [tensorboard_data_server.server_binary(), "--logdir", logdir, "--host", "127.0.0.1", "--port", "0",
             "--port-file", port_file, "--checksum", "--reload", "once", "--samples-per-plugin", "scalars=all",
             "--die-after-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not (os.path.exists(port_file) and open(port_file).read().endswith("\n")):
                time.sleep(0.005)
            port = int(open(port_file).read())
            channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=[
                ("grpc.max_receive_message_length", 1 << 30)])
            stub = data_provider_pb2_grpc.TensorBoardDataProviderStub(channel)
            listening = time.perf_counter()
            points = 0
            while points < expected_points and time.perf_counter() - start < deadline:
                request = data_provider_pb2.ReadScalarsRequest(plugin_filter=data_provider_pb2.PluginFilter(
                    plugin_name="scalars"))
                request.downsample.num_points = points_per_series
                try:
                    response = stub.ReadScalars(request)
                    points = sum(len(tag.data.step) for run in response.runs for tag in run.tags)
                except grpc.RpcError:  # still loading
                    points = 0
                if points < expected_points:
                    time.sleep(0.01)
            total = time.perf_counter() - start
            channel.close()
        finally:
            server.stdin.close()
            server.kill()
            server.wait()
    return total, total - (listening - start), points
