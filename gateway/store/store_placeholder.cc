// store module: sources arrive with its implementation.
