"""The tuning workflow without Ray: pure phase functions over one prepared dataset (prepare,
screen, refine objective, score candidates, stress, choose, report). `scalper_tune.tune` runs
them as Ray Tune experiments; a user can call them directly."""
