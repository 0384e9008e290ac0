# surveillance::farringtonFlexible per series (sts indexed by position, no dates).
# params: freq, b, w, noPeriods, pastWeeksNotIncluded, weightsThreshold, pThresholdTrend,
# alpha, thresholdMethod, reweight (0/1), trend (0/1).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
out <- list()
for (nm in series_names) {
  x <- series_values(nm)
  s <- sts(observed = matrix(x, ncol = 1), frequency = num("freq"))
  ctl <- list(b = num("b"), w = num("w"), noPeriods = num("noPeriods"),
              pastWeeksNotIncluded = num("pastWeeksNotIncluded"),
              weightsThreshold = num("weightsThreshold"), pThresholdTrend = num("pThresholdTrend"),
              alpha = num("alpha"), thresholdMethod = params$thresholdMethod,
              reweight = num("reweight", 1) == 1, trend = num("trend", 1) == 1,
              glmWarnings = FALSE)
  if (!is.null(params$start)) ctl$range <- num("start"):length(x)
  r <- suppressWarnings(farringtonFlexible(s, control = ctl))
  rng <- if (is.null(ctl$range)) (num("freq") * ctl$b + ctl$w + 1):length(x) else ctl$range
  out[[nm]] <- data.frame(series = nm, t = rng, upperbound = as.vector(upperbound(r)),
                          alarm = as.vector(alarms(r)), expected = as.vector(r@control$expected),
                          pvalue = as.vector(r@control$pvalue), phi = as.vector(r@control$phiVector),
                          trend = as.vector(r@control$trend))
}
emit(out)
