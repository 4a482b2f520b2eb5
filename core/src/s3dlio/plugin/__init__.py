"""The plugin machinery: hook specs, the host that composes plugins, registries, the runtime."""
