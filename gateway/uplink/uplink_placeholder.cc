// uplink module: sources arrive with its implementation.
