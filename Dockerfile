# streamgate-api and streamgate-worker on Debian 12, built Release from Debian's packages only.
# One image for both programs; docker-compose.yml picks the command.
FROM debian:12 AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libboost1.81-dev libboost-program-options1.81-dev libboost-url1.81-dev \
      libzmq3-dev cppzmq-dev rapidjson-dev libsqlite3-dev libspdlog-dev libssl-dev libhiredis-dev libjemalloc-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json ./
COPY cmake cmake
COPY common common
COPY worker worker
COPY api api
COPY docs docs
RUN cmake --preset release -B /build -DSTREAMGATE_BUILD_TESTS=OFF \
    && cmake --build /build --target streamgate-api streamgate-worker streamgate-keygen

FROM debian:12-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      libboost-program-options1.81.0 libboost-url1.81.0 libzmq5 libsqlite3-0 libspdlog1.10 \
      libssl3 libhiredis0.14 libjemalloc2 curl \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /build/api/streamgate-api /build/worker/streamgate-worker \
     /build/worker/streamgate-keygen /usr/local/bin/
COPY web /opt/streamgate/web
COPY data /opt/streamgate/data
COPY scripts/make-link-keys.sh /opt/streamgate/scripts/
# The worker link's keys (docker-compose.yml): a new named volume mounted here takes this owner,
# so the key-making service, the workers and the apis, all `nobody`, can read what it writes.
RUN install -d -o nobody -g nogroup -m 700 /opt/streamgate/link-keys
WORKDIR /opt/streamgate
USER nobody
