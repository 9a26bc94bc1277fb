"""Timed and periodic jobs on dramatiq (the broker of ``infrastructure.notify.jobs``): auto
no-show of called tickets, and the sweeps and purges several workers share."""
