# cmake -DFUZZER=... -DCORPUS=... -DWORK=... -DSECONDS=... -P run_campaign.cmake
# Copies CORPUS to WORK/corpus and fuzzes it for SECONDS; fails on any finding.
foreach(v FUZZER CORPUS WORK SECONDS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_campaign.cmake: ${v} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK}/corpus)
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(GLOB seeds ${CORPUS}/*)
file(COPY ${seeds} DESTINATION ${WORK}/corpus)
list(LENGTH seeds n)
message(STATUS "fuzzing ${n} corpus inputs for ${SECONDS} s in ${WORK}")

execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=25 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ ${WORK}/corpus
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  get_filename_component(fuzzer_name ${FUZZER} NAME)
  message(FATAL_ERROR "${fuzzer_name} found a problem (exit ${rc}); the input is in ${WORK}/artifacts/. "
                      "Reproduce with: ${FUZZER} <that file>")
endif()
file(GLOB grown ${WORK}/corpus/*)
list(LENGTH grown m)
message(STATUS "campaign done: corpus ${n} -> ${m} inputs (new ones in ${WORK}/corpus)")
