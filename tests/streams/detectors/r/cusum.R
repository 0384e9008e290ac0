# surveillance::cusum per series; params: start (1-based first monitored point), k, h, trans,
# m (optional numeric), alpha (pearsonNegBin). Writes cusum, upper bound and alarm per point.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
out <- list()
for (nm in series_names) {
  x <- series_values(nm)
  s <- sts(observed = matrix(x, ncol = 1), frequency = num("freq", 12))
  rng <- num("start"):length(x)
  ctl <- list(range = rng, k = num("k"), h = num("h"), trans = params$trans,
              alpha = num("alpha", 0.1))
  if (!is.null(params$m)) ctl$m <- num("m")
  r <- cusum(s, control = ctl)
  st <- surveillance:::algo.cusum(sts2disProg(s), control = ctl)
  out[[nm]] <- data.frame(series = nm, t = rng, cusum = st$cusum,
                          upperbound = as.vector(upperbound(r)), alarm = as.vector(alarms(r)))
}
emit(out)
