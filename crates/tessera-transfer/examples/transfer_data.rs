//! The data path of the Transfer service without the service: what `bench/transfer_data.sh`
//! times against `cp`, `cp -r` and `rsync -a` on the same files.
//!
//! ```text
//! transfer_data file SRC_ROOT NAME DST_ROOT [--verify] [--alg MD5] [--no-fsync]
//! transfer_data tree SRC_ROOT DST_ROOT [--verify] [--alg MD5] [--threads 2] [--sync-level N]
//! ```
//!
//! `file` copies one file with `copy_file` (fsync on, as the engine's default). `tree` walks
//! SRC_ROOT, creates its directories, copies its files with `--threads` workers (the engine's
//! per-task pool) with the mtime preserved, no per-file fsync, and one `sync_all` at the end
//! (the batched fsync policy for small files). Both print one line: seconds, files, bytes.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use tessera_transfer::data::{
    copy_file, walk, ChecksumAlgorithm, CopyOptions, FileOutcome, SyncLevel,
};
use tessera_transfer::storage::posix::PosixStorage;
use tessera_transfer::storage::{RelPath, Storage};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Args {
    positional: Vec<String>,
    verify: bool,
    fsync: bool,
    alg: ChecksumAlgorithm,
    threads: usize,
    sync_level: Option<SyncLevel>,
}

fn parse() -> Res<Args> {
    let mut a = Args {
        positional: Vec::new(),
        verify: false,
        fsync: true,
        alg: ChecksumAlgorithm::Md5,
        threads: 2,
        sync_level: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--verify" => a.verify = true,
            "--no-fsync" => a.fsync = false,
            "--alg" => a.alg = it.next().ok_or("--alg needs a value")?.parse()?,
            "--threads" => a.threads = it.next().ok_or("--threads needs a value")?.parse()?,
            "--sync-level" => {
                let n: i64 = it.next().ok_or("--sync-level needs a value")?.parse()?;
                a.sync_level = Some(SyncLevel::from_level(n).ok_or("sync level is 0-3")?);
            }
            _ => a.positional.push(arg),
        }
    }
    Ok(a)
}

fn main() -> Res<()> {
    let args = parse()?;
    let started = Instant::now();
    let (files, bytes) = match args.positional.first().map(String::as_str) {
        Some("file") if args.positional.len() == 4 => one_file(&args)?,
        Some("tree") if args.positional.len() == 3 => tree(&args)?,
        _ => return Err(
            "usage: transfer_data file SRC_ROOT NAME DST_ROOT | tree SRC_ROOT DST_ROOT [options]"
                .into(),
        ),
    };
    println!("{:.4} {files} {bytes}", started.elapsed().as_secs_f64());
    Ok(())
}

fn one_file(args: &Args) -> Res<(u64, u64)> {
    let src = PosixStorage::open(&PathBuf::from(&args.positional[1]))?;
    let dst = PosixStorage::open(&PathBuf::from(&args.positional[3]))?;
    let name = RelPath::parse(&args.positional[2])?;
    let opts = CopyOptions {
        verify_checksum: args.verify,
        checksum_algorithm: args.alg,
        fsync: args.fsync,
        sync_level: args.sync_level,
        ..CopyOptions::default()
    };
    let out = copy_file(
        &src,
        &name,
        &dst,
        &name,
        &opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )?;
    match out {
        FileOutcome::Copied { bytes, .. } => Ok((1, bytes)),
        FileOutcome::Skipped { .. } => Ok((0, 0)),
    }
}

fn tree(args: &Args) -> Res<(u64, u64)> {
    let src = PosixStorage::open(&PathBuf::from(&args.positional[1]))?;
    let dst = PosixStorage::open(&PathBuf::from(&args.positional[2]))?;
    let w = walk(&src, &RelPath::root())?;
    for dir in &w.dirs {
        dst.mkdir_all(dir)?;
    }
    let opts = CopyOptions {
        verify_checksum: args.verify,
        checksum_algorithm: args.alg,
        preserve_timestamp: true,
        fsync: false,
        sync_level: args.sync_level,
        ..CopyOptions::default()
    };
    let next = AtomicUsize::new(0);
    let copied = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let results: Vec<Res<u64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.threads.max(1))
            .map(|_| {
                scope.spawn(|| -> Res<u64> {
                    let mut bytes = 0;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, _)) = w.files.get(i) else {
                            return Ok(bytes);
                        };
                        if let FileOutcome::Copied { bytes: n, .. } =
                            copy_file(&src, path, &dst, path, &opts, &mut |_| {}, &cancel)?
                        {
                            bytes += n;
                            copied.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("worker panicked".into())))
            .collect()
    });
    let mut bytes = 0;
    for r in results {
        bytes += r?;
    }
    dst.sync_all()?;
    Ok((copied.load(Ordering::Relaxed) as u64, bytes))
}
