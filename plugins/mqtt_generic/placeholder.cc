// plugin sources arrive with its implementation.
