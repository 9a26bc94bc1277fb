"""What every long-running role shares: the supervisor of its threads, health from tracking rows,
and the singleton periodic worker."""
