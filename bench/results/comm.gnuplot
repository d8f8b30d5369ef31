set terminal png size 1000,600
set output '/work/main/bench/results/comm.png'
set title 'A→B, B checksums and replies: p50 latency'
set xlabel 'payload (MB)'
set ylabel 'ms (log)'
set logscale y
set key top left
set grid
set datafile separator ','
plot '/work/main/bench/results/comm.csv' using ($2/1048576):(strcol(4) eq 'embedded' && strcol(1) eq 'A→B, B checksums and replies' ? $6/1000 : 1/0) with linespoints title 'embedded', '/work/main/bench/results/comm.csv' using ($2/1048576):(strcol(4) eq 'local' && strcol(1) eq 'A→B, B checksums and replies' ? $6/1000 : 1/0) with linespoints title 'local', '/work/main/bench/results/comm.csv' using ($2/1048576):(strcol(4) eq 'remote (loopback)' && strcol(1) eq 'A→B, B checksums and replies' ? $6/1000 : 1/0) with linespoints title 'remote (loopback)', '/work/main/bench/results/comm.csv' using ($2/1048576):(strcol(4) eq 'remote (netns veth)' && strcol(1) eq 'A→B, B checksums and replies' ? $6/1000 : 1/0) with linespoints title 'remote (netns veth)', '/work/main/bench/results/comm.csv' using ($2/1048576):(strcol(4) eq 'redis (baseline)' && strcol(1) eq 'A→B, B checksums and replies' ? $6/1000 : 1/0) with linespoints title 'redis (baseline)', '/work/main/bench/results/comm.csv' using ($2/1048576):(strcol(1) eq 'memcpy fresh pages' ? $6/1000 : 1/0) with linespoints dashtype 2 title 'memcpy (fresh pages)'
