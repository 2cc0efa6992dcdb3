"""The only Ray and Optuna code: phases as Tune experiments, search spaces, resume."""
