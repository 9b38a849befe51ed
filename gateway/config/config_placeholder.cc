// config module: sources arrive with its implementation.
