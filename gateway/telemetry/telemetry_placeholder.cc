// telemetry module: sources arrive with its implementation.
