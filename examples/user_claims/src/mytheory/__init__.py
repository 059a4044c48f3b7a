"""mytheory: a prediction of one's own, with the experiment that checks it (a kernelcap example)."""
