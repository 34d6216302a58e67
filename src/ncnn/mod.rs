//! Safe binding to the parts of ncnn's C API that SCRFD needs.
//!
//! Every `unsafe` block of the crate lives in this module. The raw
//! declarations are in [`sys`]; the types here own their ncnn handles, free
//! them on drop and tie borrowed data to its owner by lifetime.
//!
//! Nothing here changes process-wide ncnn state (CPU power mode, OpenMP
//! thread count, global allocators): each [`Net`] carries its own options.

#![allow(unsafe_code)]

mod sys;

use std::ffi::{CStr, CString, c_int};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

/// Failures reported by ncnn or caught before calling it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("ncnn could not load the network structure from {path} (error code {code})")]
    LoadParam { path: PathBuf, code: i32 },

    #[error(
        "ncnn could not load the weights from {path} (error code {code}); \
         check that the file is the .bin that belongs to the .param and is complete"
    )]
    LoadModel { path: PathBuf, code: i32 },

    #[error(
        "the weights in {path} do not fit the network structure: the structure reads {read} \
         bytes{ran_out}, the file has {size}; use the .bin that belongs to the .param"
    )]
    WeightsSize {
        path: PathBuf,
        read: u64,
        size: u64,
        /// " and wants more" when ncnn tried to read past the end.
        ran_out: &'static str,
    },

    #[error("path {0} contains a NUL byte, which the ncnn C API cannot accept")]
    NulInPath(PathBuf),

    #[error("blob name {0:?} contains a NUL byte")]
    NulInName(String),

    #[error("ncnn could not allocate a {width}x{height}x{channels} matrix")]
    Allocation {
        width: usize,
        height: usize,
        channels: usize,
    },

    #[error("ncnn rejected the input blob {name:?} (error code {code})")]
    Input { name: String, code: i32 },

    #[error("ncnn could not extract the blob {name:?} (error code {code})")]
    Extract { name: String, code: i32 },

    #[error(
        "extracted blob {name:?} has an unexpected layout: {dims} dimensions, \
         {elemsize}-byte elements packed by {elempack}; expected 32-bit floats packed by 1"
    )]
    Layout {
        name: String,
        dims: i32,
        elemsize: usize,
        elempack: i32,
    },

    #[error("invalid pixel buffer: {0}")]
    Pixels(String),

    #[error("size {0} does not fit the ncnn C API's int")]
    TooLarge(usize),
}

/// Byte order of the packed pixels given to [`Mat::from_pixels_resize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelOrder {
    Rgb,
    Bgr,
    /// RGB followed by an ignored fourth byte.
    Rgba,
    /// BGR followed by an ignored fourth byte.
    Bgra,
}

impl PixelOrder {
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelOrder::Rgb | PixelOrder::Bgr => 3,
            PixelOrder::Rgba | PixelOrder::Bgra => 4,
        }
    }

    /// ncnn pixel type that converts this order to planar RGB.
    fn to_rgb_type(self) -> c_int {
        let source = match self {
            // RGB to RGB is no conversion at all in ncnn.
            PixelOrder::Rgb => return sys::NCNN_MAT_PIXEL_RGB,
            PixelOrder::Bgr => sys::NCNN_MAT_PIXEL_BGR,
            PixelOrder::Rgba => sys::NCNN_MAT_PIXEL_RGBA,
            PixelOrder::Bgra => sys::NCNN_MAT_PIXEL_BGRA,
        };
        source | (sys::NCNN_MAT_PIXEL_RGB << sys::NCNN_MAT_PIXEL_CONVERT_SHIFT)
    }
}

/// Returns the version string of the linked ncnn library.
pub fn version() -> &'static str {
    // SAFETY: ncnn_version returns a pointer to a static NUL-terminated
    // string that lives as long as the library.
    let version = unsafe { CStr::from_ptr(sys::ncnn_version()) };
    version.to_str().unwrap_or("unknown")
}

fn to_c_int(value: usize) -> Result<c_int, Error> {
    c_int::try_from(value).map_err(|_| Error::TooLarge(value))
}

fn path_to_cstring(path: &Path) -> Result<CString, Error> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::NulInPath(path.to_owned()))
}

fn name_to_cstring(name: &str) -> Result<CString, Error> {
    CString::new(name).map_err(|_| Error::NulInName(name.to_owned()))
}

/// Number of threads ncnn uses when a caller does not choose one (the
/// number of big CPU cores, read from a default `ncnn::Option`).
pub fn default_num_threads() -> u32 {
    // SAFETY: ncnn_option_create returns a new heap-allocated Option (never
    // null: it uses operator new), which is read once and destroyed.
    unsafe {
        let option = sys::ncnn_option_create();
        let threads = sys::ncnn_option_get_num_threads(option);
        sys::ncnn_option_destroy(option);
        threads.max(1) as u32
    }
}

/// A three-dimensional ncnn matrix of 32-bit floats (width x height x
/// channels) whose channels start `channel_step` floats apart.
///
/// ncnn aligns every channel to 16 bytes, so the channel step can be larger
/// than `width * height`: channel data must be read through
/// [`Mat::channel`], never at `c * width * height`.
pub struct Mat {
    raw: NonNull<sys::ncnn_mat>,
    width: usize,
    height: usize,
    channels: usize,
    channel_step: usize,
}

// SAFETY: a Mat owns a heap-allocated ncnn::Mat header whose data is
// reference counted with atomic operations, so it can move between threads.
// Shared references only read the data, so sharing them is sound too.
unsafe impl Send for Mat {}
// SAFETY: see above; no method that takes &self writes through the handle.
unsafe impl Sync for Mat {}

impl Mat {
    /// Allocates a zero-filled matrix of `channels` planes of `width` x
    /// `height` floats.
    pub fn new(width: usize, height: usize, channels: usize) -> Result<Mat, Error> {
        let allocation = Error::Allocation {
            width,
            height,
            channels,
        };
        if width == 0 || height == 0 || channels == 0 {
            return Err(allocation);
        }
        let (w, h, c) = (to_c_int(width)?, to_c_int(height)?, to_c_int(channels)?);

        // SAFETY: plain constructor call; a null allocator selects ncnn's
        // default allocator. The result is checked before use.
        let raw = unsafe { sys::ncnn_mat_create_3d(w, h, c, std::ptr::null_mut()) };
        let mat = Mat::from_raw(raw).ok_or(allocation)?;

        // SAFETY: the data block holds channels * channel_step floats (ncnn
        // allocates cstep * c elements), and nothing else refers to it yet.
        // Zeroing it makes every element initialised before any slice of it
        // is handed out.
        unsafe {
            let data = sys::ncnn_mat_get_data(mat.raw.as_ptr()).cast::<f32>();
            std::ptr::write_bytes(data, 0, mat.channels * mat.channel_step);
        }
        Ok(mat)
    }

    /// Converts packed 8-bit pixels to a planar RGB float matrix of
    /// `target_width` x `target_height` with ncnn's bilinear
    /// `from_pixels_resize`, reading `height` rows that start `stride` bytes
    /// apart.
    ///
    /// ncnn's resize reads outside the image when the source is one pixel
    /// wide or high, so both source sides must be at least 2 unless the
    /// target size equals the source size.
    #[allow(clippy::too_many_arguments)]
    pub fn from_pixels_resize(
        pixels: &[u8],
        order: PixelOrder,
        width: usize,
        height: usize,
        stride: usize,
        target_width: usize,
        target_height: usize,
    ) -> Result<Mat, Error> {
        let row_bytes = width * order.bytes_per_pixel();
        if width == 0 || height == 0 || target_width == 0 || target_height == 0 {
            return Err(Error::Pixels(format!(
                "source {width}x{height} and target {target_width}x{target_height} must not be empty"
            )));
        }
        if stride < row_bytes {
            return Err(Error::Pixels(format!(
                "row stride {stride} is smaller than a row of {width} pixels ({row_bytes} bytes)"
            )));
        }
        let needed = stride * (height - 1) + row_bytes;
        if pixels.len() < needed {
            return Err(Error::Pixels(format!(
                "{} bytes cannot hold {width}x{height} pixels with row stride {stride} \
                 ({needed} bytes needed)",
                pixels.len()
            )));
        }
        let resizing = width != target_width || height != target_height;
        if resizing && (width < 2 || height < 2) {
            return Err(Error::Pixels(format!(
                "ncnn cannot resize a {width}x{height} image; both sides must be at least 2"
            )));
        }

        // SAFETY: the checks above guarantee that ncnn reads only inside
        // `pixels`: `height` rows of `row_bytes` bytes, `stride` bytes apart,
        // and the resize taps stay inside the image for sides of 2 or more.
        // ncnn copies the pixels and keeps no pointer to them.
        let raw = unsafe {
            sys::ncnn_mat_from_pixels_resize(
                pixels.as_ptr(),
                order.to_rgb_type(),
                to_c_int(width)?,
                to_c_int(height)?,
                to_c_int(stride)?,
                to_c_int(target_width)?,
                to_c_int(target_height)?,
                std::ptr::null_mut(),
            )
        };
        Mat::from_raw(raw).ok_or(Error::Allocation {
            width: target_width,
            height: target_height,
            channels: 3,
        })
    }

    /// Takes ownership of a matrix handle returned by ncnn; returns `None`
    /// (after freeing the handle) when it is null, empty, or not a
    /// three-dimensional float matrix with one element per pack.
    fn from_raw(raw: sys::ncnn_mat_t) -> Option<Mat> {
        let raw = NonNull::new(raw)?;

        // SAFETY: `raw` is a valid ncnn::Mat created by the C API and owned
        // by the caller, who hands that ownership to this function.
        let (dims, width, height, depth, channels, elemsize, elempack, cstep, data) = unsafe {
            let p = raw.as_ptr();
            (
                sys::ncnn_mat_get_dims(p),
                sys::ncnn_mat_get_w(p),
                sys::ncnn_mat_get_h(p),
                sys::ncnn_mat_get_d(p),
                sys::ncnn_mat_get_c(p),
                sys::ncnn_mat_get_elemsize(p),
                sys::ncnn_mat_get_elempack(p),
                sys::ncnn_mat_get_cstep(p),
                sys::ncnn_mat_get_data(p),
            )
        };
        let usable = !data.is_null()
            && (1..=3).contains(&dims)
            && depth == 1
            && elemsize == 4
            && elempack == 1
            && width > 0
            && height > 0
            && channels > 0;
        if !usable {
            // SAFETY: the handle is owned here and not used afterwards.
            unsafe { sys::ncnn_mat_destroy(raw.as_ptr()) };
            return None;
        }
        Some(Mat {
            raw,
            width: width as usize,
            height: height as usize,
            channels: channels as usize,
            channel_step: cstep,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Distance in floats between the starts of two channels.
    pub fn channel_step(&self) -> usize {
        self.channel_step
    }

    /// Returns the `width * height` floats of channel `c`.
    ///
    /// # Panics
    /// When `c` is not below [`Mat::channels`].
    pub fn channel(&self, c: usize) -> &[f32] {
        assert!(
            c < self.channels,
            "channel {c} of a {}-channel matrix",
            self.channels
        );
        // SAFETY: channel c starts c * cstep floats into a block of
        // channels * cstep floats and holds width * height initialised
        // floats (Mat::new zero-fills; ncnn writes every element of a
        // channel it produces). The slice borrows self, which keeps the
        // reference-counted data alive.
        unsafe {
            let data = sys::ncnn_mat_get_data(self.raw.as_ptr()).cast::<f32>();
            std::slice::from_raw_parts(data.add(c * self.channel_step), self.width * self.height)
        }
    }

    /// Returns the `width * height` floats of channel `c` for writing.
    ///
    /// # Panics
    /// When `c` is not below [`Mat::channels`].
    pub fn channel_mut(&mut self, c: usize) -> &mut [f32] {
        assert!(
            c < self.channels,
            "channel {c} of a {}-channel matrix",
            self.channels
        );
        // SAFETY: as in `channel`. A `Mat` is the only owner of its data:
        // extracted blobs, which share data with an extractor, are handed
        // out as `Blob`, which has no mutable access, and an extractor
        // borrows its inputs for its whole life. So `&mut self` is unique
        // access to the data.
        unsafe {
            let data = sys::ncnn_mat_get_data(self.raw.as_ptr()).cast::<f32>();
            std::slice::from_raw_parts_mut(
                data.add(c * self.channel_step),
                self.width * self.height,
            )
        }
    }

    /// Returns every channel's `width * height` floats for writing at once.
    pub fn channels_mut(&mut self) -> Vec<&mut [f32]> {
        // SAFETY: as in `channel_mut`; the channels start `channel_step >=
        // width * height` floats apart, so the slices do not overlap.
        let data = unsafe { sys::ncnn_mat_get_data(self.raw.as_ptr()).cast::<f32>() };
        (0..self.channels)
            .map(|c| {
                // SAFETY: see above; each slice covers one channel only.
                unsafe {
                    std::slice::from_raw_parts_mut(
                        data.add(c * self.channel_step),
                        self.width * self.height,
                    )
                }
            })
            .collect()
    }

    /// Applies `(v - mean[c]) * norm[c]` to every element of the three
    /// channels with ncnn's `substract_mean_normalize`.
    ///
    /// # Panics
    /// When the matrix does not have exactly three channels.
    pub fn substract_mean_normalize(&mut self, mean: [f32; 3], norm: [f32; 3]) {
        assert_eq!(
            self.channels, 3,
            "mean and norm are given for three channels"
        );
        // SAFETY: the matrix has three channels, matching the three values
        // ncnn reads from each array; `&mut self` is unique access.
        unsafe {
            sys::ncnn_mat_substract_mean_normalize(self.raw.as_ptr(), mean.as_ptr(), norm.as_ptr())
        }
    }

    /// Returns a copy grown by the given number of rows and columns filled
    /// with `value` (ncnn's `copy_make_border`, constant type).
    pub fn copy_make_border(
        &self,
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
        value: f32,
    ) -> Result<Mat, Error> {
        const BORDER_CONSTANT: c_int = 0;
        let (width, height) = (self.width + left + right, self.height + top + bottom);
        let mut dst = Mat::new(width, height, self.channels)?;

        // SAFETY: both handles are valid; dst is uniquely owned and ncnn
        // reallocates it to the grown size; a null option means a default
        // ncnn::Option for this one call.
        unsafe {
            sys::ncnn_copy_make_border(
                self.raw.as_ptr(),
                dst.raw.as_ptr(),
                to_c_int(top)?,
                to_c_int(bottom)?,
                to_c_int(left)?,
                to_c_int(right)?,
                BORDER_CONSTANT,
                value,
                std::ptr::null_mut(),
            );
            dst.channel_step = sys::ncnn_mat_get_cstep(dst.raw.as_ptr());
        }
        Ok(dst)
    }

    fn as_raw(&self) -> sys::ncnn_mat_t {
        self.raw.as_ptr()
    }
}

impl Drop for Mat {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by self and freed exactly once; ncnn
        // releases the data when its reference count drops to zero.
        unsafe { sys::ncnn_mat_destroy(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Mat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mat")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("channels", &self.channels)
            .field("channel_step", &self.channel_step)
            .finish()
    }
}

/// A blob extracted from a network: read-only, because its data is shared
/// with the extractor that computed it.
#[derive(Debug)]
pub struct Blob(Mat);

impl std::ops::Deref for Blob {
    type Target = Mat;

    fn deref(&self) -> &Mat {
        &self.0
    }
}

/// A loaded ncnn network (`.param` structure and `.bin` weights).
pub struct Net {
    raw: NonNull<sys::ncnn_net>,
}

// SAFETY: the network is a heap object only reachable through this handle.
unsafe impl Send for Net {}
// SAFETY: after loading, ncnn only reads a network: creating extractors and
// running layers take it by const reference, and ncnn supports several
// extractors of one network on several threads. Every mutation here
// (loading, thread count) takes `&mut self`.
unsafe impl Sync for Net {}

impl Net {
    /// Loads a network from its `.param` and `.bin` files. `num_threads`
    /// of `None` keeps ncnn's default; every other option stays at ncnn's
    /// default too.
    pub fn load(param: &Path, bin: &Path, num_threads: Option<u32>) -> Result<Net, Error> {
        let param_c = path_to_cstring(param)?;
        let bin_c = path_to_cstring(bin)?;

        // SAFETY: ncnn_net_create allocates a new network (it aborts rather
        // than returning null on allocation failure, but null is checked).
        let raw = NonNull::new(unsafe { sys::ncnn_net_create() }).ok_or(Error::Allocation {
            width: 0,
            height: 0,
            channels: 0,
        })?;
        let mut net = Net { raw };
        net.set_num_threads(num_threads);

        // SAFETY: the handle is valid and uniquely owned; the paths are
        // NUL-terminated and outlive the calls, which do not keep them.
        let code = unsafe { sys::ncnn_net_load_param(net.raw.as_ptr(), param_c.as_ptr()) };
        if code != 0 {
            return Err(Error::LoadParam {
                path: param.to_owned(),
                code,
            });
        }
        net.load_weights(bin, &bin_c)?;
        Ok(net)
    }

    /// Loads the weights through a C `FILE`, so that the bytes ncnn reads
    /// can be compared with the file's size: ncnn itself accepts a `.bin`
    /// of another model as long as it is not shorter than the graph needs,
    /// and the network then finds nothing.
    fn load_weights(&mut self, bin: &Path, bin_c: &CStr) -> Result<(), Error> {
        let size = std::fs::metadata(bin)
            .map_err(|_| Error::LoadModel {
                path: bin.to_owned(),
                code: -1,
            })?
            .len();

        // SAFETY: fopen gets a NUL-terminated path and mode; the FILE is
        // checked for null and closed below on every path.
        let fp = unsafe { sys::fopen(bin_c.as_ptr(), c"rb".as_ptr()) };
        if fp.is_null() {
            return Err(Error::LoadModel {
                path: bin.to_owned(),
                code: -1,
            });
        }
        // SAFETY: `fp` is an open FILE; the reader only keeps it until it
        // is destroyed, before the FILE is closed. The network is valid and
        // uniquely borrowed. ftell and feof only query the open FILE.
        let (code, read, ran_out) = unsafe {
            let reader = sys::ncnn_datareader_create_from_stdio(fp);
            let code = sys::ncnn_net_load_model_datareader(self.raw.as_ptr(), reader);
            sys::ncnn_datareader_destroy(reader);
            let read = sys::ftell(fp);
            let ran_out = sys::feof(fp) != 0;
            sys::fclose(fp);
            (code, read, ran_out)
        };

        if code != 0 {
            return Err(Error::LoadModel {
                path: bin.to_owned(),
                code,
            });
        }
        let read = u64::try_from(read).unwrap_or(0);
        if ran_out || read != size {
            return Err(Error::WeightsSize {
                path: bin.to_owned(),
                read,
                size,
                ran_out: if ran_out { " and wants more" } else { "" },
            });
        }
        Ok(())
    }

    /// Sets the thread count used by extractors created from now on;
    /// `None` restores ncnn's default.
    pub fn set_num_threads(&mut self, num_threads: Option<u32>) {
        let threads = num_threads.unwrap_or_else(default_num_threads).max(1);
        let threads = c_int::try_from(threads).unwrap_or(c_int::MAX);
        // SAFETY: ncnn_net_get_option returns a pointer to the option
        // stored inside the network, valid while the network lives;
        // `&mut self` guarantees no extractor is being created meanwhile.
        unsafe {
            let option = sys::ncnn_net_get_option(self.raw.as_ptr());
            sys::ncnn_option_set_num_threads(option, threads);
        }
    }

    /// Returns the thread count extractors of this network use.
    pub fn num_threads(&self) -> u32 {
        // SAFETY: reads the option stored inside the valid network.
        let threads = unsafe {
            let option = sys::ncnn_net_get_option(self.raw.as_ptr());
            sys::ncnn_option_get_num_threads(option)
        };
        threads.max(1) as u32
    }

    /// Creates an extractor that runs this network on inputs that live at
    /// least as long as the extractor.
    pub fn extractor<'a>(&'a self) -> Extractor<'a> {
        // SAFETY: the network is valid for 'a, and creating an extractor
        // only reads it (ncnn::Net::create_extractor is const).
        let raw = unsafe { sys::ncnn_extractor_create(self.raw.as_ptr()) };
        Extractor {
            raw: NonNull::new(raw).expect("ncnn_extractor_create returned null"),
            _borrow: PhantomData,
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by self and freed exactly once; every
        // extractor borrows the network, so none outlives it.
        unsafe { sys::ncnn_net_destroy(self.raw.as_ptr()) }
    }
}

/// One inference pass over a [`Net`]: set inputs, then extract outputs.
///
/// The extractor borrows its network and every input matrix for `'a`, so
/// neither can be freed or changed while ncnn may still read them.
pub struct Extractor<'a> {
    raw: NonNull<sys::ncnn_extractor>,
    _borrow: PhantomData<&'a Mat>,
}

// SAFETY: an extractor owns its blob storage and only reads the network and
// the borrowed inputs, all of which are Sync, so it may move between
// threads. It is not Sync: ncnn extractors are not safe to use from two
// threads at once, and every method takes `&mut self`.
unsafe impl Send for Extractor<'_> {}

impl<'a> Extractor<'a> {
    /// Sets the blob `name` to `mat`; ncnn keeps a reference to its data.
    pub fn input(&mut self, name: &str, mat: &'a Mat) -> Result<(), Error> {
        let name_c = name_to_cstring(name)?;
        // SAFETY: both handles are valid; ncnn copies the Mat header and
        // takes a reference to its data, which stays borrowed (and so
        // unchanged) for the extractor's lifetime 'a.
        let code =
            unsafe { sys::ncnn_extractor_input(self.raw.as_ptr(), name_c.as_ptr(), mat.as_raw()) };
        if code != 0 {
            return Err(Error::Input {
                name: name.to_owned(),
                code,
            });
        }
        Ok(())
    }

    /// Runs the network as far as needed and returns the blob `name`.
    pub fn extract(&mut self, name: &str) -> Result<Blob, Error> {
        let name_c = name_to_cstring(name)?;
        let mut out: sys::ncnn_mat_t = std::ptr::null_mut();

        // SAFETY: the extractor is valid; ncnn stores a newly allocated Mat
        // handle in `out` (also on failure), which is owned here from now
        // on and freed by Mat's Drop or by from_raw. The returned data is a
        // counted reference that stays valid after the extractor is gone.
        // ncnn clones a shared blob before running an in-place layer on it,
        // so the extractor never writes into data handed out here.
        let code =
            unsafe { sys::ncnn_extractor_extract(self.raw.as_ptr(), name_c.as_ptr(), &mut out) };
        if code != 0 {
            if let Some(raw) = NonNull::new(out) {
                // SAFETY: the handle is owned here and not used afterwards.
                unsafe { sys::ncnn_mat_destroy(raw.as_ptr()) };
            }
            return Err(Error::Extract {
                name: name.to_owned(),
                code,
            });
        }

        let layout = NonNull::new(out).map(|raw| {
            // SAFETY: reads the layout of the valid handle ncnn just stored.
            unsafe {
                (
                    sys::ncnn_mat_get_dims(raw.as_ptr()),
                    sys::ncnn_mat_get_elemsize(raw.as_ptr()),
                    sys::ncnn_mat_get_elempack(raw.as_ptr()),
                )
            }
        });
        Mat::from_raw(out).map(Blob).ok_or_else(|| {
            let (dims, elemsize, elempack) = layout.unwrap_or((0, 0, 0));
            Error::Layout {
                name: name.to_owned(),
                dims,
                elemsize,
                elempack,
            }
        })
    }
}

impl Drop for Extractor<'_> {
    fn drop(&mut self) {
        // SAFETY: the handle is owned by self and freed exactly once.
        unsafe { sys::ncnn_extractor_destroy(self.raw.as_ptr()) }
    }
}

// Compile-time proof of the thread-safety claims above.
const _: () = {
    const fn send<T: Send>() {}
    const fn sync<T: Sync>() {}
    send::<Mat>();
    sync::<Mat>();
    send::<Blob>();
    sync::<Blob>();
    send::<Net>();
    sync::<Net>();
    send::<Extractor<'static>>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mat_channel_step_is_aligned() {
        // 10 x 7 floats = 280 bytes, rounded up to 288 (72 floats).
        let mut mat = Mat::new(10, 7, 3).unwrap();
        assert_eq!(mat.channel_step(), 72);
        assert!(mat.channel(2).iter().all(|&v| v == 0.0));

        mat.channel_mut(1)[0] = 5.0;
        assert_eq!(mat.channel(1)[0], 5.0);
        let mut channels = mat.channels_mut();
        assert_eq!(channels.len(), 3);
        assert_eq!(channels[1][0], 5.0);
        channels[2][69] = 7.0;
        assert_eq!(mat.channel(2)[69], 7.0);
        assert_eq!(mat.channel(0)[69], 0.0);
        assert_eq!(mat.channel(2)[0], 0.0);
    }

    #[test]
    fn mat_rejects_empty_shape() {
        assert!(matches!(Mat::new(0, 4, 3), Err(Error::Allocation { .. })));
    }

    #[test]
    fn from_pixels_resize_checks_buffer() {
        let pixels = vec![0u8; 10];
        let err = Mat::from_pixels_resize(&pixels, PixelOrder::Rgb, 4, 2, 12, 8, 4).unwrap_err();
        assert!(err.to_string().contains("24 bytes needed"), "{err}");

        let err = Mat::from_pixels_resize(&pixels, PixelOrder::Rgb, 4, 2, 8, 8, 4).unwrap_err();
        assert!(err.to_string().contains("row stride 8"), "{err}");

        let err = Mat::from_pixels_resize(&[0; 3], PixelOrder::Rgb, 1, 1, 3, 8, 8).unwrap_err();
        assert!(err.to_string().contains("at least 2"), "{err}");
    }

    #[test]
    fn from_pixels_resize_swaps_to_rgb() {
        // Two BGRA pixels per row, two rows, row stride padded to 12 bytes.
        let pixels = [
            1, 2, 3, 99, 4, 5, 6, 99, 0, 0, 0, 0, //
            7, 8, 9, 99, 10, 11, 12, 99, 0, 0, 0, 0,
        ];
        let mat = Mat::from_pixels_resize(&pixels, PixelOrder::Bgra, 2, 2, 12, 2, 2).unwrap();
        assert_eq!(mat.channels(), 3);
        assert_eq!(mat.channel(0), &[3.0, 6.0, 9.0, 12.0]);
        assert_eq!(mat.channel(1), &[2.0, 5.0, 8.0, 11.0]);
        assert_eq!(mat.channel(2), &[1.0, 4.0, 7.0, 10.0]);
    }

    #[test]
    fn normalize_and_border() {
        let pixels = [0u8, 128, 255, 0, 128, 255, 0, 128, 255, 0, 128, 255];
        let mut mat = Mat::from_pixels_resize(&pixels, PixelOrder::Rgb, 2, 2, 6, 2, 2).unwrap();
        mat.substract_mean_normalize([127.5; 3], [1.0 / 128.0; 3]);
        assert_eq!(mat.channel(0)[0], -127.5 / 128.0);
        assert_eq!(mat.channel(2)[3], 127.5 / 128.0);

        let padded = mat.copy_make_border(1, 0, 0, 2, -1.0).unwrap();
        assert_eq!((padded.width(), padded.height()), (4, 3));
        assert_eq!(padded.channel(1)[..4], [-1.0; 4]);
        assert_eq!(padded.channel(1)[4], 0.5 / 128.0);
        assert_eq!(padded.channel(1)[6], -1.0);
    }

    #[test]
    fn load_reports_missing_file() {
        let missing = Path::new("/nonexistent/model.param");
        let err = Net::load(missing, missing, Some(1)).err().unwrap();
        assert!(matches!(err, Error::LoadParam { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/model.param"));
    }
}
