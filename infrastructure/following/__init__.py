"""Following the notification log: the projection runner, the projections role (one follower per
read model), rebuilds, dead letters and their retry, and read-model positions."""
