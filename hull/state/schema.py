"""Schema migrations, applied in order; ``PRAGMA user_version`` counts the applied ones.

Append new migrations; never edit one that has shipped.
"""

MIGRATIONS: list[str] = [
    # 1: images, references, layers and snapshots
    """
    CREATE TABLE images (
        id TEXT PRIMARY KEY,                -- config digest
        manifest_digest TEXT NOT NULL,      -- the local manifest (a blob in the content store)
        manifest_media_type TEXT NOT NULL,
        created TEXT NOT NULL DEFAULT '',   -- from the config
        size INTEGER NOT NULL DEFAULT 0,    -- unpacked size of all layers
        added_at REAL NOT NULL,             -- when this store got it (for ordering)
        parent TEXT NOT NULL DEFAULT ''      -- local image it was built from (builds, commits)
    );
    CREATE TABLE image_refs (
        name TEXT PRIMARY KEY,              -- normalised: docker.io/library/busybox:latest
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        kind TEXT NOT NULL DEFAULT 'tag',   -- 'tag' or 'digest' (RepoDigests)
        created_at REAL NOT NULL
    );
    CREATE INDEX image_refs_by_image ON image_refs(image_id);
    CREATE TABLE layers (
        chain_id TEXT PRIMARY KEY,
        diff_id TEXT NOT NULL,
        parent TEXT REFERENCES layers(chain_id),
        size INTEGER NOT NULL,              -- unpacked size of this layer alone
        tar_size INTEGER NOT NULL,          -- bytes of its uncompressed tar (for saving it)
        snapshot TEXT NOT NULL              -- committed snapshot key holding it
    );
    CREATE TABLE image_layers (
        image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        chain_id TEXT NOT NULL REFERENCES layers(chain_id),
        blob_digest TEXT NOT NULL,          -- the (possibly compressed) blob in the manifest
        blob_media_type TEXT NOT NULL,
        blob_size INTEGER NOT NULL,
        PRIMARY KEY (image_id, position)
    );
    CREATE INDEX image_layers_by_chain ON image_layers(chain_id);
    CREATE TABLE snapshots (
        key TEXT PRIMARY KEY,
        id INTEGER NOT NULL UNIQUE,         -- short directory name under snapshots/
        parent TEXT REFERENCES snapshots(key),
        kind TEXT NOT NULL,                 -- 'active', 'view' or 'committed'
        backend TEXT NOT NULL,              -- 'overlay' or 'native'
        created_at REAL NOT NULL
    );
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )
    """,
    # 2: containers (the lifecycle fills in more columns; images check it before removal)
    """
    CREATE TABLE containers (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        image_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX containers_by_image ON containers(image_id)
    """,
    # 3: the build cache: one row per build step result, keyed by parent + step
    """
    CREATE TABLE build_cache (
        key TEXT PRIMARY KEY,               -- sha256 of parent config digest + expanded step
        parent TEXT NOT NULL,               -- config digest of the state the step started from
        result TEXT NOT NULL,               -- config digest of the state it produced
        config TEXT NOT NULL,               -- that state's image config (JSON)
        layers TEXT NOT NULL,               -- its layers (JSON list of layer records)
        created_at REAL NOT NULL,
        last_used REAL NOT NULL
    );
    CREATE INDEX build_cache_by_result ON build_cache(result)
    """,
    # 4: networks, container endpoints (with their allocated addresses) and published ports
    """
    CREATE TABLE networks (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        driver TEXT NOT NULL,               -- 'bridge', 'host' or 'null'
        created TEXT NOT NULL,              -- RFC 3339
        subnet TEXT NOT NULL DEFAULT '',
        gateway TEXT NOT NULL DEFAULT '',
        ip_range TEXT NOT NULL DEFAULT '',
        internal INTEGER NOT NULL DEFAULT 0,
        bridge TEXT NOT NULL DEFAULT '',    -- Linux bridge name ('' for host/null)
        data TEXT NOT NULL DEFAULT '{}'     -- labels, options, predefined flag
    );
    CREATE TABLE endpoints (
        network_id TEXT NOT NULL REFERENCES networks(id),
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        config TEXT NOT NULL DEFAULT '{}',  -- aliases, requested address, MAC, links
        address TEXT,                       -- allocated IPv4 while attached, else NULL
        mac TEXT NOT NULL DEFAULT '',
        veth TEXT NOT NULL DEFAULT '',      -- host side of the veth pair while attached
        ifname TEXT NOT NULL DEFAULT '',    -- eth0, eth1, ... inside the container
        endpoint_id TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (network_id, container_id),
        UNIQUE (network_id, address)
    );
    CREATE INDEX endpoints_by_container ON endpoints(container_id);
    CREATE TABLE port_bindings (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        proto TEXT NOT NULL,
        host_ip TEXT NOT NULL,
        host_port INTEGER NOT NULL,
        container_port INTEGER NOT NULL,
        container_ip TEXT NOT NULL,
        PRIMARY KEY (proto, host_port, host_ip)
    );
    CREATE INDEX port_bindings_by_container ON port_bindings(container_id)
    """,
    # 5: volumes, and each container's mount points (a volume is in use while any has one)
    """
    CREATE TABLE volumes (
        name TEXT PRIMARY KEY,
        driver TEXT NOT NULL,
        labels TEXT NOT NULL,               -- JSON object, or null when none were given
        options TEXT NOT NULL,              -- driver options (JSON object or null)
        created_at REAL NOT NULL,
        remove_with TEXT NOT NULL DEFAULT '' -- container whose removal removes it (--rm)
    );
    CREATE TABLE container_mounts (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        destination TEXT NOT NULL,
        volume TEXT REFERENCES volumes(name),
        spec TEXT NOT NULL,                 -- the mount point (JSON)
        copy_pending INTEGER NOT NULL DEFAULT 0,  -- seed the volume from the image at start
        PRIMARY KEY (container_id, destination)
    );
    CREATE INDEX container_mounts_by_volume ON container_mounts(volume)
    """,
    # 6: build records: a finished build's inputs (files by their stat identity) and result
    """
    CREATE TABLE build_records (
        key TEXT PRIMARY KEY,               -- sha256 of the request: Dockerfile, flags, context
        image_id TEXT NOT NULL,
        data TEXT NOT NULL,                 -- JSON: file stats, base images, output lines
        created_at REAL NOT NULL
    )
    """,
]
