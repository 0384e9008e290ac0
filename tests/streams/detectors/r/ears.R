# surveillance::earsC on each series; params: method, baseline, freq, minSigma, alpha (optional).
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "common.R"))
out <- list()
for (nm in series_names) {
  s <- sts(observed = matrix(series_values(nm), ncol = 1), frequency = num("freq", 12))
  ctl <- list(method = params$method, baseline = num("baseline"), minSigma = num("minSigma", 0))
  if (!is.null(params$alpha)) ctl$alpha <- num("alpha")
  r <- earsC(s, control = ctl)
  out[[nm]] <- data.frame(series = nm, t = r@control$range,
                          upperbound = as.vector(upperbound(r)), alarm = as.vector(alarms(r)))
}
emit(out)
