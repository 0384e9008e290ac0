# Shared by the reference scripts (base R only): reads the series CSV (columns series, value;
# rows in time order) named by argv[1] and the key=value parameters that follow it.
suppressPackageStartupMessages(library(surveillance))
args <- commandArgs(TRUE)
input <- read.csv(args[1], stringsAsFactors = FALSE)
params <- list()
for (kv in args[-1]) {
  parts <- strsplit(kv, "=", fixed = TRUE)[[1]]
  params[[parts[1]]] <- parts[2]
}
num <- function(key, default = NULL) {
  if (is.null(params[[key]])) default else as.numeric(params[[key]])
}
series_names <- unique(input$series)
series_values <- function(nm) as.numeric(input$value[input$series == nm])
emit <- function(frames) write.csv(do.call(rbind, frames), stdout(), row.names = FALSE)
