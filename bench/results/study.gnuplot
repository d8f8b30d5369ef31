set terminal png size 1800,560
set output 'bench/results/study.png'
set multiplot layout 1,3
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key below
set grid ytics
set xtics rotate by -40
set datafile missing 'NaN'
set logscale y
set title 'Artifact size (OCI image)'
set ylabel 'KB (log scale)'
plot 'bench/results/study_plot.dat' using 2:xtic(1) title 'Wasm image', '' using 3 title 'static image', '' using 4 title 'Debian-based image'
unset logscale y
set yrange [0:*]
set title 'Deployment: apply -> first answer, images pulled'
set ylabel 's'
plot 'bench/results/study_plot.dat' using 5:xtic(1) title 'Wasm pod', '' using 6 title 'static runc pod', '' using 7 title 'Debian runc pod'
set yrange [*:*]
set logscale y
set title 'Warm call, Wasm / native (p50)'
set ylabel 'ratio (log scale)'
set arrow from graph 0, first 1.3 to graph 1, first 1.3 nohead dt 2 lw 2
set label 'goal 1.3x' at graph 0.85, first 1.45
plot 'bench/results/study_plot.dat' using 8:xtic(1) title 'cwasid / native server', '' using 9 title 'Wasm pod / static pod'
unset multiplot
